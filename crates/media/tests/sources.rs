//! Video sources: the synthetic pattern and Y4M files.

use duet_media::stamp;
use duet_media::{Error, SyntheticSource, VideoFormat, VideoSource, Y4mSource, Y4mWriter};

#[test]
fn synthetic_frames_carry_their_counter_and_capture_time() {
    let mut source = SyntheticSource::new(VideoFormat::HD).unwrap();
    let first = source.next_frame().unwrap();
    let second = source.next_frame().unwrap();
    let (a, b) = (stamp::read(&first).unwrap(), stamp::read(&second).unwrap());
    assert_eq!((a.counter, b.counter), (0, 1));
    assert_eq!(a.captured_us, first.timestamp_us & ((1 << 48) - 1));
    assert!(b.captured_us >= a.captured_us);
    assert_ne!(first.y()[400 * 1280..], second.y()[400 * 1280..], "the pattern moves");
}

#[test]
fn a_synthetic_source_on_its_frame_clock_spaces_frames_at_its_rate() {
    let mut source = SyntheticSource::new(VideoFormat::HD).unwrap().with_frame_clock();
    let frames: Vec<_> = (0..4).map(|_| source.next_frame().unwrap()).collect();
    assert_eq!(frames.iter().map(|f| f.timestamp_us).collect::<Vec<_>>(), [0, 33_333, 66_666, 100_000]);
    let stamps: Vec<_> = frames.iter().map(|f| stamp::read(f).map(|s| (s.counter, s.captured_us))).collect();
    assert_eq!(stamps, [Some((0, 0)), Some((1, 33_333)), Some((2, 66_666)), Some((3, 100_000))]);
}

#[test]
fn tiny_synthetic_formats_are_refused_clearly() {
    let err = SyntheticSource::new(VideoFormat { width: 160, height: 120, fps: 15.0 }).err().unwrap();
    assert!(matches!(err, Error::InvalidSource(_)));
    assert!(err.to_string().contains("160x120"), "{err}");
}

#[test]
fn a_y4m_file_plays_back_its_frames_and_loops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.y4m");
    let format = VideoFormat { width: 320, height: 180, fps: 30.0 };
    let mut synthetic = SyntheticSource::new(format).unwrap();
    let frames: Vec<_> = (0..3).map(|_| synthetic.next_frame().unwrap()).collect();
    let mut writer = Y4mWriter::new(std::fs::File::create(&path).unwrap(), format).unwrap();
    for frame in &frames {
        writer.write(frame).unwrap();
    }
    writer.finish().unwrap();

    let mut source = Y4mSource::open(&path).unwrap();
    assert_eq!(source.format(), format);
    for expected in frames.iter().chain(&frames[..1]) {
        let frame = source.next_frame().unwrap();
        assert_eq!(frame.as_bytes(), expected.as_bytes());
    }
}

#[test]
fn a_file_that_is_not_y4m_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.y4m");
    std::fs::write(&path, b"RIFF....WAVEfmt ").unwrap();
    let err = Y4mSource::open(&path).err().unwrap().to_string();
    assert!(err.contains("not a YUV4MPEG2 file"), "{err}");
    let missing = Y4mSource::open(dir.path().join("missing.y4m")).err().unwrap().to_string();
    assert!(missing.contains("missing.y4m"), "{missing}");
}
