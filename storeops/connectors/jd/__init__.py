"""JD Open Platform (JOS) connector: signing, client, sync, the simulator."""
