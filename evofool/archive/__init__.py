"""What a run keeps: the champion of every class."""

from evofool.archive.champions import ChampionArchive

__all__ = ["ChampionArchive"]
