"""The three autoencoders written in plain PyTorch, layer for layer as in `bench.architectures`.

They exist only to measure how much Keras adds on top of the backend: the
same layers, shapes, activations, loss, optimizer and batch size, trained
by a hand-written loop. Keras stores images channels-last and PyTorch
channels-first; the arithmetic is the same.
"""

import torch
from torch import nn

IMAGE_SIZE = 28


class Stacked(nn.Module):
    """784 -> 100 -> codings -> 100 -> 784, ReLU inside and a sigmoid output."""

    def __init__(self, codings_size: int):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(IMAGE_SIZE * IMAGE_SIZE, 100),
            nn.ReLU(),
            nn.Linear(100, codings_size),
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.Linear(codings_size, 100),
            nn.ReLU(),
            nn.Linear(100, IMAGE_SIZE * IMAGE_SIZE),
            nn.Sigmoid(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(images)).view(-1, IMAGE_SIZE, IMAGE_SIZE)


class Conv(nn.Module):
    """Three conv + max-pool stages and global average pooling; transposed convolutions back."""

    def __init__(self, codings_size: int):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 7x7
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 3x3
            nn.Conv2d(64, codings_size, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.decoder = nn.Sequential(
            nn.Linear(codings_size, 3 * 3 * 16), nn.ReLU(),
            nn.Unflatten(1, (16, 3, 3)),
            nn.ConvTranspose2d(16, 32, 3, stride=2), nn.ReLU(),  # Keras "valid": 3 -> 7
            # Keras "same" with stride 2 doubles the size: padding 1 plus output_padding 1.
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),  # 14
            nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid(),  # 28
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        codings = self.encoder(images.unsqueeze(1))
        return self.decoder(codings).squeeze(1)


class Recurrent(nn.Module):
    """LSTM(100) -> LSTM(codings); the codings repeated 28 times -> LSTM(100) -> per-row dense."""

    def __init__(self, codings_size: int):
        super().__init__()
        # NOTE: torch's LSTM keeps two bias vectors where Keras keeps one, so each
        # LSTM here has 4 x units more parameters. The arithmetic per step is the same.
        self.encoder_rows = nn.LSTM(IMAGE_SIZE, 100, batch_first=True)
        self.encoder_codings = nn.LSTM(100, codings_size, batch_first=True)
        self.decoder_rows = nn.LSTM(codings_size, 100, batch_first=True)
        self.output_row = nn.Linear(100, IMAGE_SIZE)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        sequence, _ = self.encoder_rows(images)
        _, (codings, _) = self.encoder_codings(sequence)
        repeated = codings[-1].unsqueeze(1).expand(-1, IMAGE_SIZE, -1)
        rows, _ = self.decoder_rows(repeated)
        return torch.sigmoid(self.output_row(rows))


MODELS = {"stacked": Stacked, "conv": Conv, "recurrent": Recurrent}


class NativeTrainer:
    """Adam on the per-pixel MSE, one step per batch, as `model.fit` does in the harness."""

    def __init__(self, architecture: str, codings_size: int, learning_rate: float, seed: int = 0):
        torch.manual_seed(seed)
        self.model = MODELS[architecture](codings_size)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=learning_rate)
        self.loss = nn.MSELoss()

    def parameter_count(self) -> int:
        return sum(parameter.numel() for parameter in self.model.parameters())

    def train_steps(self, images, batch_size: int) -> float:
        """Run one step per batch of `images` (a numpy array); return the last loss."""
        self.model.train()
        data = torch.from_numpy(images)
        loss = torch.tensor(float("nan"))
        for start in range(0, len(data), batch_size):
            batch = data[start : start + batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.loss(self.model(batch), batch)
            loss.backward()
            self.optimizer.step()
        return float(loss.detach())

    def predict(self, images, batch_size: int):
        self.model.eval()
        data = torch.from_numpy(images)
        with torch.no_grad():
            outputs = [self.model(data[start : start + batch_size]) for start in range(0, len(data), batch_size)]
        return torch.cat(outputs).numpy()
