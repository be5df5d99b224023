//! YUV4MPEG2 (`.y4m`) files: the uncompressed format test clips come in.
//! 4:2:0 only (the `C420*` colour spaces, or none given).

use std::io::{BufRead, BufReader, Read, Write};

use duet_frame::{I420Frame, i420_len};

use crate::source::{VideoFormat, VideoSource, capture_clock_us};
use crate::{Error, Result};

/// Plays a Y4M file as a video source, from the start again at its end.
pub struct Y4mSource {
    path: String,
    format: VideoFormat,
    reader: BufReader<std::fs::File>,
    data_start: u64,
}

impl Y4mSource {
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path_str = path.as_ref().display().to_string();
        let io = |source| Error::Io { path: path_str.clone(), source };
        let mut reader = BufReader::new(std::fs::File::open(path.as_ref()).map_err(io)?);
        let mut header = String::new();
        reader.read_line(&mut header).map_err(io)?;
        let format = parse_header(&header).map_err(|why| Error::InvalidSource(format!("{path_str}: {why}")))?;
        Ok(Self { data_start: header.len() as u64, path: path_str, format, reader })
    }

    fn read_frame(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut marker = String::new();
        if self.reader.read_line(&mut marker)? == 0 {
            return Ok(None);
        }
        if !marker.starts_with("FRAME") {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "expected a FRAME marker"));
        }
        let mut data = vec![0; i420_len(self.format.width, self.format.height)];
        self.reader.read_exact(&mut data)?;
        Ok(Some(data))
    }
}

impl VideoSource for Y4mSource {
    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<I420Frame> {
        let path = self.path.clone();
        let io = |source| Error::Io { path: path.clone(), source };
        let data = match self.read_frame().map_err(io)? {
            Some(data) => data,
            None => {
                use std::io::Seek;
                self.reader.seek(std::io::SeekFrom::Start(self.data_start)).map_err(io)?;
                self.read_frame().map_err(io)?.ok_or_else(|| Error::InvalidSource(format!("{path}: no frames")))?
            }
        };
        let mut frame = I420Frame::from_bytes(self.format.width, self.format.height, data).expect("read to size");
        frame.timestamp_us = capture_clock_us();
        Ok(frame)
    }
}

/// Why a Y4M header cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("not a YUV4MPEG2 file")]
    NotY4m,
    #[error("bad frame rate")]
    FrameRate,
    #[error("colour space {0} is not 4:2:0")]
    ColourSpace(String),
    #[error("no width or height in the header")]
    NoSize,
}

fn parse_header(header: &str) -> std::result::Result<VideoFormat, HeaderError> {
    let mut words = header.split_whitespace();
    if words.next() != Some("YUV4MPEG2") {
        return Err(HeaderError::NotY4m);
    }
    let (mut width, mut height, mut fps) = (None, None, 30.0);
    for word in words {
        let (tag, value) = word.split_at(1);
        match tag {
            "W" => width = value.parse().ok(),
            "H" => height = value.parse().ok(),
            "F" => {
                let (num, den) = value.split_once(':').ok_or(HeaderError::FrameRate)?;
                let rate = |n: &str| n.parse::<f32>().map_err(|_| HeaderError::FrameRate);
                let (num, den) = (rate(num)?, rate(den)?);
                fps = num / den;
            }
            "C" if !value.starts_with("420") => return Err(HeaderError::ColourSpace(value.to_owned())),
            _ => {}
        }
    }
    match (width, height) {
        (Some(width), Some(height)) if width > 0 && height > 0 => Ok(VideoFormat { width, height, fps }),
        _ => Err(HeaderError::NoSize),
    }
}

/// Writes frames as a Y4M stream (for recordings and test clips).
pub struct Y4mWriter<W: Write> {
    out: W,
}

impl<W: Write> Y4mWriter<W> {
    pub fn new(mut out: W, format: VideoFormat) -> std::io::Result<Self> {
        let rate = (format.fps * 1000.0).round() as u32;
        writeln!(out, "YUV4MPEG2 W{} H{} F{rate}:1000 Ip A1:1 C420jpeg", format.width, format.height)?;
        Ok(Self { out })
    }

    pub fn write(&mut self, frame: &I420Frame) -> std::io::Result<()> {
        self.out.write_all(b"FRAME\n")?;
        self.out.write_all(frame.as_bytes())
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_give_size_and_rate() {
        let f = parse_header("YUV4MPEG2 W1280 H720 F30000:1001 Ip A1:1 C420jpeg\n").unwrap();
        assert_eq!((f.width, f.height), (1280, 720));
        assert!((f.fps - 29.97).abs() < 0.01);
        assert_eq!(parse_header("YUV4MPEG2 W64 H64 C444\n"), Err(HeaderError::ColourSpace("444".into())));
        assert!(parse_header("RIFF").is_err());
        assert!(parse_header("YUV4MPEG2 F30:1\n").is_err());
    }
}
