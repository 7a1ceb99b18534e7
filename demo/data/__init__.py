"""What the demo is made of, as plain values; ``demo.seed`` writes it."""
