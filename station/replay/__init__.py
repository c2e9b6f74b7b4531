"""`trapd replay`: a conventional camera trap's SD card imported as if the station had captured it
(``scan`` finds and groups the photos, ``importer`` runs them through the pipeline, ``report`` writes the CSV)."""
