"""storeops: operations platform for JD.com POP merchants."""

__version__ = "0.1.0"
