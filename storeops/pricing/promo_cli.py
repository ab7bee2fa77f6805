"""``storeops promo …``: promotions in the database. Other modules add their subcommands to
the same group through their ``register(promo)``.

(stub: being written)
"""

from __future__ import annotations

import typer

promo = typer.Typer(help="Promotions and coupons: import, schedule, approve, audit.",
                    no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from storeops.pricing import audit_cli, eligibility_cli, protection_cli, results_cli

    for module in (audit_cli, eligibility_cli, protection_cli, results_cli):
        module.register(promo)
    app.add_typer(promo, name="promo")
