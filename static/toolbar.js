// placeholder; replaced by the toolbar UI
