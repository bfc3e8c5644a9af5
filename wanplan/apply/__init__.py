"""Apply: carry out a plan through the providers, recording every step in the state."""
