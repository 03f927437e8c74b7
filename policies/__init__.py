"""Safety policies: cost functions, reward functions and critics (the plugin API arrives with Step 2)."""
