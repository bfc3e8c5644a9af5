"""Money over time: budgets checked before apply spends, and the ledger of what it spent."""
