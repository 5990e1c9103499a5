"""The dream itself: gradient ascent (``ascent``), what it maximises (``objectives``), the networks
(``models``) and the colour pull (``color``). Importing this package imports no torch."""
