"""Plans: the difference between the specs and the state, with what it would cost."""
