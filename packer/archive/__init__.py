"""Archives: the one validator every package passes (feed on push, target on deploy), and the readers and writers."""
