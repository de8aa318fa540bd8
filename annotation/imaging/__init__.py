"""Images: DICOM decoding, the scan-area crop, preparing stored images and signed links to them."""
