//! Host tests of the block ring: validation of hostile requests and the
//! index discipline of both sides.

use super::*;

fn read(sector: u64, pages: u32) -> Request {
    let mut request = Request {
        id: 7,
        operation: Operation::Read as u32,
        segments: pages,
        sector,
        ..Request::default()
    };
    for (n, segment) in request.segment.iter_mut().enumerate().take(pages as usize) {
        *segment = Segment {
            reference: n as u32 + 1,
            offset: 0,
            len: 4096,
        };
    }
    request
}

fn page() -> Ring {
    // SAFETY: every field of the ring is an integer, so zeroes are valid.
    unsafe { core::mem::zeroed() }
}

fn shared(ring: &mut Ring) -> Shared<'_> {
    // SAFETY: a live, writable page for the test's length.
    unsafe { Shared::new(NonNull::from(ring)) }
}

#[test]
fn a_good_request_passes() {
    let valid = read(8, 2).validate(24).unwrap();
    assert_eq!(
        (valid.id, valid.sector, valid.bytes, valid.count),
        (7, 8, 8192, 2)
    );
    assert_eq!(valid.operation, Operation::Read);
}

#[test]
fn hostile_requests_are_named() {
    assert_eq!(read(8, 2).validate(23), Err(RingError::OutsideRegion));
    assert_eq!(
        read(u64::MAX - 1, 1).validate(u64::MAX),
        Err(RingError::OutsideRegion)
    );
    let mut bad = read(0, 1);
    bad.operation = 9;
    assert_eq!(bad.validate(100), Err(RingError::UnknownOperation));
    let most = MAX_SEGMENTS as u32;
    assert!(read(0, most).validate(1000).is_ok());
    assert_eq!(
        read(0, most + 1).validate(1000),
        Err(RingError::SegmentCount)
    );
    assert_eq!(read(0, 0).validate(100), Err(RingError::SegmentCount));
    assert_eq!(
        read(0, u32::MAX).validate(100),
        Err(RingError::SegmentCount)
    );
    let mut past = read(0, 1);
    past.segment[0].offset = 512;
    assert_eq!(past.validate(100), Err(RingError::SegmentPastPage));
    let mut odd = read(0, 1);
    odd.segment[0].len = 100;
    assert_eq!(odd.validate(100), Err(RingError::SegmentPastPage));
    let mut flush = read(0, 1);
    flush.operation = Operation::Flush as u32;
    assert_eq!(flush.validate(100), Err(RingError::SegmentCount));
    flush.segments = 0;
    assert!(flush.validate(0).is_ok());
    let mut id = read(0, 1);
    id.operation = Operation::GetId as u32;
    id.segment[0].len = 20;
    assert!(id.validate(0).is_ok());
    id.segment[0].len = 21;
    assert_eq!(id.validate(0), Err(RingError::SegmentPastPage));
}

#[test]
fn requests_and_responses_go_round() {
    let mut ring = page();
    let shared = shared(&mut ring);
    let mut back = BackRing::default();
    for round in 0..3u32 {
        for n in 0..RING_SLOTS {
            let index = round * RING_SLOTS + n;
            let mut request = read(u64::from(index), 1);
            request.id = u64::from(index);
            shared.push_request(index, request);
        }
        back.refresh(shared).unwrap();
        for n in 0..RING_SLOTS {
            let request = back.take(shared).unwrap();
            assert_eq!(request.id, u64::from(round * RING_SLOTS + n));
        }
        assert_eq!(back.take(shared), None);
        assert_eq!(back.outstanding(), RING_SLOTS);
        for n in 0..RING_SLOTS {
            back.respond(shared, u64::from(n), status::OK);
        }
        assert_eq!(shared.responses_produced(), (round + 1) * RING_SLOTS);
        assert_eq!(
            shared.response_at(RING_SLOTS - 1).id,
            u64::from(RING_SLOTS - 1)
        );
    }
}

#[test]
fn a_producer_too_far_ahead_or_behind_is_refused() {
    let mut ring = page();
    let shared = shared(&mut ring);
    let mut back = BackRing::default();
    shared.push_request(RING_SLOTS, read(0, 1));
    assert_eq!(back.refresh(shared), Err(RingError::IndexTooFar));
    shared.push_request(u32::MAX - 1, read(0, 1));
    assert_eq!(back.refresh(shared), Err(RingError::IndexTooFar));
    shared.push_request(1, read(0, 1));
    back.refresh(shared).unwrap();
    assert!(back.take(shared).is_some());
    // Moving the producer back behind what was taken.
    shared.push_request(u32::MAX, read(0, 1));
    assert_eq!(back.refresh(shared), Err(RingError::IndexTooFar));
}
