"""wanplan: plan and apply generated media from the Wan models, declaratively."""

__version__ = "0.1.0"
