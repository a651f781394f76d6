"""What strategies stand on: the event vocabulary and its folds, budgets, providers, verifiers, problems."""
