"""Images: DICOM decoding, the scan-area crop and letterbox, preparing stored images, and the
one signed-link scheme for stored files."""
