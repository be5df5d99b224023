//! Every captured frame goes through the processing hook (the beauty filter)
//! before the local preview and the encoder see it.

use duet_beauty::{Backend, BeautyProcessor, CpuFilter, Params, Settings, SettingsHandle, Tier};
use duet_media::stamp;
use duet_media::{EncoderSettings, H264Decoder, H264Encoder, SyntheticSource, VideoFormat, VideoSender, VideoSource};

#[test]
fn the_beauty_filter_runs_before_preview_and_encode() {
    let settings = Settings::recommended();
    let handle = SettingsHandle::new(settings);
    let mut sender = VideoSender::new(
        Box::new(SyntheticSource::new(VideoFormat::DEFAULT).unwrap()),
        H264Encoder::new(EncoderSettings::DEFAULT).unwrap(),
    );
    sender.set_processor(Some(Box::new(BeautyProcessor::new(Backend::Cpu, handle.clone(), 15))));
    let mut reference = SyntheticSource::new(VideoFormat::DEFAULT).unwrap();
    let mut decoder = H264Decoder::new().unwrap();

    for n in 0..5 {
        let captured = sender.capture().unwrap();
        let mut expected = reference.next_frame().unwrap();
        let params = Params::new(&settings, Tier::Full, expected.width(), expected.height());
        CpuFilter::new().apply(&mut expected, &params);
        // The pattern is deterministic; only the stamped capture time differs.
        let rows = stamp::stamp_height(expected.width()) * expected.width() as usize;
        assert_eq!(captured.preview.y()[rows..], expected.y()[rows..], "frame {n}: preview is the filtered frame");
        assert_eq!(captured.preview.u(), expected.u());

        let decoded = decoder.decode(&captured.encoded.unwrap().data).unwrap().unwrap();
        assert_eq!(stamp::read(&decoded).map(|s| s.counter), Some(n), "the stamp survives the filter and the codec");
    }

    // Switched off during the call: the next frame goes out unfiltered.
    handle.set(Settings { enabled: false, ..settings });
    let captured = sender.capture().unwrap();
    let plain = reference.next_frame().unwrap();
    let rows = stamp::stamp_height(plain.width()) * plain.width() as usize;
    assert_eq!(captured.preview.y()[rows..], plain.y()[rows..]);
}

#[test]
fn switching_to_a_source_of_another_size_goes_on_with_a_keyframe_of_that_size() {
    let mut sender = VideoSender::new(
        Box::new(SyntheticSource::new(VideoFormat::DEFAULT).unwrap()),
        H264Encoder::new(EncoderSettings::DEFAULT).unwrap(),
    );
    let mut decoder = H264Decoder::new().unwrap();
    for _ in 0..3 {
        decoder.decode(&sender.capture().unwrap().encoded.unwrap().data).unwrap();
    }
    // Another camera, mid-call: 1280x720.
    sender.set_source(Box::new(SyntheticSource::new(VideoFormat::HD).unwrap())).unwrap();
    let encoded = sender.capture().unwrap().encoded.unwrap();
    assert!(encoded.keyframe, "the first frame of the new source is a keyframe");
    let decoded = decoder.decode(&encoded.data).unwrap().unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1280, 720));
    assert_eq!(stamp::read(&decoded).map(|s| s.counter), Some(0), "the new source's first frame");
}
