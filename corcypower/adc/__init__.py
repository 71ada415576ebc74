"""The ADC layer: chip frames, the SPI transport, the emulated chip and its signal sources."""
