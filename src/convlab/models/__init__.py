"""Plain ``nn.Module`` networks; the Lightning tasks wrap them."""
