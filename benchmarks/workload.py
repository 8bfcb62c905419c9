"""The workload every speed measurement shares: profile, batch size and steps per round."""

from bench import config

PROFILE = config.PROFILES["quick"]
BATCH_SIZE = PROFILE.batch_size
# Training steps per measured round, sized so a round takes about a second or
# two on one CPU thread: the dense model is over ten times faster than the LSTM.
STEPS = {"stacked": 150, "conv": 40, "recurrent": 30}
