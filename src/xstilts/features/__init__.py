"""Featurised data kept between jobs: a content-keyed, memory-mapped cache in the store."""

from xstilts.features.cache import FeatureCache, featurize  # noqa: F401
