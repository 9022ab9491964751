"""What each lecture expects of its notebook: checks, inputs, references and thresholds."""
