"""On-device vision: model cards, the LiteRT interpreter, the detector (boxes) and the classifier (species on
crops), the per-frame pipeline shared by the station, replay and evaluation, and the model tools behind
`trapd model`."""
