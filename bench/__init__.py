"""`make bench`: the product's speed measured against the limits of the machine it runs on (see harness)."""
