//! Opus at the engine's rate: encode, decode, loss concealment and in-band FEC.

use super::{FRAME, SAMPLE_RATE};
use crate::{Error, Result};

const MAX_PACKET: usize = 1500;

pub struct OpusEncoder {
    inner: opus::Encoder,
}

impl OpusEncoder {
    /// Voice settings: in-band FEC on, tuned for up to 10% loss.
    pub fn new(bitrate_bps: i32) -> Result<Self> {
        let err = |e: opus::Error| Error::Opus(e.to_string());
        let mut inner = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip).map_err(err)?;
        inner.set_bitrate(opus::Bitrate::Bits(bitrate_bps)).map_err(err)?;
        inner.set_inband_fec(true).map_err(err)?;
        inner.set_packet_loss_perc(10).map_err(err)?;
        Ok(Self { inner })
    }

    /// Encodes one 20 ms frame.
    pub fn encode(&mut self, frame: &[i16; FRAME]) -> Result<Vec<u8>> {
        self.inner.encode_vec(frame, MAX_PACKET).map_err(|e| Error::Opus(e.to_string()))
    }
}

pub struct OpusDecoder {
    inner: opus::Decoder,
}

impl OpusDecoder {
    pub fn new() -> Result<Self> {
        let inner = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).map_err(|e| Error::Opus(e.to_string()))?;
        Ok(Self { inner })
    }

    pub fn decode(&mut self, packet: &[u8]) -> Result<[i16; FRAME]> {
        self.run(packet, false)
    }

    /// A frame for a packet that never came (packet loss concealment).
    pub fn conceal(&mut self) -> Result<[i16; FRAME]> {
        self.run(&[], false)
    }

    /// The lost frame before `next`, rebuilt from the FEC data `next` carries.
    pub fn recover(&mut self, next: &[u8]) -> Result<[i16; FRAME]> {
        self.run(next, true)
    }

    fn run(&mut self, packet: &[u8], fec: bool) -> Result<[i16; FRAME]> {
        let mut out = [0i16; FRAME];
        let n = self.inner.decode(packet, &mut out, fec).map_err(|e| Error::Opus(e.to_string()))?;
        if n != FRAME {
            return Err(Error::Opus(format!("decoded {n} samples, expected {FRAME} (packets must be 20 ms)")));
        }
        Ok(out)
    }
}
