"""What runs in the background: the sweep loop and each job it runs."""
