"""Video stability (mmrecanon/apis/video.py): held person boxes, held native tiles, nonces per held region."""
import numpy as np
import pytest

import mmrecanon  # noqa: F401
from mmrecanon.apis.video import PersonTracker, TileHold, VideoAnonymizer


def inside(inner, outer) -> bool:
    return bool((inner[:2] >= outer[:2] - 1e-9).all() and (inner[2:] <= outer[2:] + 1e-9).all())


def test_tracker_holds_a_jittering_box_and_reanchors_when_the_person_leaves_it():
    tr = PersonTracker(slack=1.1, max_age=2)
    held0, ids0, new0 = tr.update([[100, 100, 200, 300]])
    assert new0 == [True] and held0[0].tolist() == pytest.approx([95, 90, 205, 310])
    for dx, dy in [(1, 0), (-1, 1), (2, -2), (0, 0)]:  # one- and two-pixel jitter: the very same box
        held, ids, new = tr.update([[100 + dx, 100 + dy, 200 + dx, 300 + dy]])
        assert ids == ids0 and new == [False] and np.array_equal(held, held0)
    held, ids, new = tr.update([[110, 100, 210, 300]])  # walked 10 px: out of the held box
    assert ids == ids0 and new == [True] and inside(np.array([110, 100, 210, 300]), held[0])
    before = held[0]
    held, _, new = tr.update([[125, 130, 195, 290]])  # inside, but smaller (walked away): re-anchored
    assert inside(np.array([125, 130, 195, 290]), before)
    assert new == [True] and held[0].tolist() == pytest.approx([121.5, 122, 198.5, 298])


def test_tracker_keeps_lost_people_covered_for_max_age_frames_and_separates_two():
    tr = PersonTracker(max_age=2)
    _, ids, _ = tr.update([[0, 0, 50, 100], [300, 0, 350, 100]])
    assert len(set(ids)) == 2
    held1, ids1, _ = tr.update([[301, 0, 351, 100]])  # the first person's detection is lost
    assert sorted(ids1) == sorted(ids) and len(held1) == 2
    assert tr.update([[301, 0, 351, 100]])[0].shape == (2, 4)
    assert tr.update([[301, 0, 351, 100]])[0].shape == (1, 4)  # gone after max_age frames
    assert tr.update(np.zeros((0, 4)))[0].shape == (1, 4)
    with pytest.raises(ValueError):
        PersonTracker(slack=0.9)


@pytest.fixture(scope='module')
def native_anonymizers():
    from mmrecanon.apis import Anonymizer, init_recanon
    from mmrecanon.models.utils.keylock import generate_key
    plain = init_recanon('configs/cpu/recanon-native_blur_people-mini_tiles.py', None)
    keyed = init_recanon('configs/cpu/recanon-native-keyed_blur_people-mini_tiles.py', None)
    keyed.load_state_dict(plain.state_dict())
    return (Anonymizer(plain, purpose='recovery'),
            Anonymizer(keyed, key=generate_key(), purpose='recovery'))


def _frame(seed=3, shape=(200, 320)):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (shape[0] // 4 + 1, shape[1] // 4 + 1, 3), dtype=np.uint8)
    return np.ascontiguousarray(np.repeat(np.repeat(img, 4, 0), 4, 1)[:shape[0], :shape[1]])


def detector(monkeypatch, boxes):
    """P / the detector finds ``boxes[i]`` in the i-th frame (round robin)."""
    import itertools

    import mmrecanon.apis.video as video_mod
    found = itertools.cycle([np.asarray(b, np.float32).reshape(-1, 4) for b in boxes])
    monkeypatch.setattr(video_mod, 'detect_people', lambda *args, **kwargs: next(found))


def test_stabilized_video_does_not_redraw_a_still_person(native_anonymizers, monkeypatch):
    plain, _ = native_anonymizers
    img = _frame()
    boxes = [np.array([[40, 30, 200, 180]]) + d for d in (0, 1, -1, 2)]  # a still person, a jittering detector
    per_frame, stable = VideoAnonymizer(plain, stabilize=False), VideoAnonymizer(plain)
    assert per_frame.hold is None and stable.hold is not None
    detector(monkeypatch, boxes)
    ys = [per_frame.anonymize(img, estimate=False)['enhanced'] for _ in boxes]
    assert any(not np.array_equal(ys[0], y) for y in ys[1:])  # the jitter moves the tiles: y' flickers
    outs = [stable.anonymize(img, estimate=False) for _ in boxes]
    assert all(np.array_equal(outs[0]['enhanced'], o['enhanced']) for o in outs[1:])
    assert all(o['boxes'] == outs[0]['boxes'] for o in outs)
    tiles = stable.hold.computed
    assert tiles > 1 and stable.hold.held == 3 * tiles  # frames 2-4 reuse every tile: no G_X pass
    # the held box covers every detection, and the held y' is what a fresh pass over the held box gives
    x0, y0, x1, y1 = np.asarray(outs[0]['boxes'][0])
    assert all(x0 <= b[0, 0] and y0 <= b[0, 1] and x1 >= b[0, 2] and y1 >= b[0, 3] for b in boxes)
    assert all(np.array_equal(o['person_boxes'], b) for o, b in zip(outs, boxes))  # poses use the detections
    fresh = plain.anonymize(img, outs[0]['held_boxes'], estimate=False)
    assert np.array_equal(fresh['enhanced'], outs[3]['enhanced'])


def test_stabilized_video_redraws_only_the_tiles_that_change(native_anonymizers):
    plain, _ = native_anonymizers
    img = _frame(4)
    stable = VideoAnonymizer(plain)
    box = np.array([[20, 10, 300, 190]])
    first = stable.anonymize(img, box, estimate=False)
    region = np.asarray(first['boxes'][0], int)
    tiles = stable.hold.computed
    moved = img.copy()
    moved[region[1] + 5:region[1] + 30, region[0] + 5:region[0] + 30] = 255  # something moves in the first tile
    second = stable.anonymize(moved, box, estimate=False)
    redrawn, held = stable.hold.computed - tiles, stable.hold.held
    assert tiles == 6 and redrawn + held == 6 and 1 <= redrawn <= 2  # the changed tile (and one A's blur reaches)
    changed = np.abs(second['enhanced'].astype(int) - first['enhanced'].astype(int)).max(axis=2) > 0
    far = np.zeros_like(changed)
    far[region[1] + 128:, region[0] + 256:] = True  # the tile two columns right of and below the change
    assert changed[region[1]:region[1] + 128, region[0]:region[0] + 128].any()
    assert not (changed & far).any()


def test_keyed_stream_keeps_the_nonce_of_a_held_region_and_recovers(native_anonymizers, monkeypatch):
    _, keyed = native_anonymizers
    img = _frame(5)
    stable, per_frame = VideoAnonymizer(keyed), VideoAnonymizer(keyed, stabilize=False)
    detector(monkeypatch, [[40, 30, 200, 180], [41, 31, 201, 181], [90, 30, 250, 180]])
    a, b, c = (stable.anonymize(img, estimate=False) for _ in range(3))
    assert a['nonces'] == b['nonces'] and np.array_equal(a['enhanced'], b['enhanced'])
    assert c['nonces'] != a['nonces']  # the person left the held box: a re-anchored region, a new nonce
    p1 = per_frame.anonymize(img, [[40, 30, 200, 180]], estimate=False)
    p2 = per_frame.anonymize(img, [[40, 30, 200, 180]], estimate=False)
    assert p1['nonces'] != p2['nonces']  # per frame: a new nonce every frame
    # the held frame recovers with its (reused) nonce as a fresh keyed frame of those boxes does with its own
    from mmrecanon.apis.inference import anonymize_checked
    fresh = anonymize_checked(keyed.model, img, np.asarray(b['held_boxes']),
                              key=keyed.key, estimate=False)
    assert fresh['boxes'] == b['boxes'] and fresh['nonces'] != b['nonces']
    back_held = keyed.recover(b['enhanced'], b['boxes'], b['nonces'])
    back_fresh = keyed.recover(fresh['enhanced'], fresh['boxes'], fresh['nonces'])
    x0, y0, x1, y1 = np.asarray(b['boxes'][0], int)
    region = (slice(y0, y1), slice(x0, x1))
    assert np.abs(back_held[region].astype(int) - back_fresh[region].astype(int)).mean() < 1.0
    wrong = keyed.recover(b['enhanced'], b['boxes'], fresh['nonces'])  # another region's nonce: unscrambled wrong
    assert (wrong[region] != back_held[region]).mean() > 0.5


def test_tile_hold_needs_the_same_place_and_nonce():
    import torch
    hold = TileHold(tol=2)
    x = torch.zeros(1, 3, 8, 8)
    y = torch.ones(1, 3, 8, 8)
    rect = [(0, 0, 8, 8)]
    assert hold.lookup(rect, x, x, [(8, 8)], None) == [None]
    hold.store(rect, x, x, y, None, [False])
    assert torch.equal(hold.lookup(rect, x + 1 / 255, x, [(8, 8)], None)[0], y[0])  # half a grey level
    assert hold.lookup([(2, 0, 10, 8)], x, x, [(8, 8)], None) == [None]  # another place
    assert hold.lookup(rect, x, x, [(8, 8)], [b'\x01' * 16]) == [None]   # another nonce
    big = x.clone()
    big[0, 0, 0, :4] = 0.5  # 4 of 64 pixels changed by 64 grey levels
    assert hold.lookup(rect, big, x, [(8, 8)], None) == [None]
    assert hold.lookup(rect, x, big, [(8, 8)], None) == [None]  # any change of A redraws


def test_a_lost_person_stays_covered_but_the_frame_counts_as_nobody_found(native_anonymizers, monkeypatch):
    """Held boxes of a lost track keep covering (extra cover), while the fail-closed policy still sees that
    the detector found nobody (``detected`` 0) and desensitizes the whole frame (FileAnonymizer)."""
    plain, _ = native_anonymizers
    img = _frame(6)
    detector(monkeypatch, [[[40, 30, 200, 180]], [], []])
    stable = VideoAnonymizer(plain, tracker=PersonTracker(max_age=1))
    outs = [stable.anonymize(img, estimate=False) for _ in range(3)]
    assert [o['detected'] for o in outs] == [1, 0, 0]
    assert outs[1]['boxes'] == outs[0]['boxes'] and np.array_equal(outs[1]['enhanced'], outs[0]['enhanced'])
    assert outs[2]['boxes'] == []  # max_age 1: gone


def test_given_boxes_are_used_as_given(native_anonymizers):
    plain, _ = native_anonymizers
    img = _frame(7)
    stable = VideoAnonymizer(plain)
    outs = [stable.anonymize(img, b, estimate=False) for b in ([[40, 30, 200, 180]], [[42, 30, 202, 180]])]
    assert 'held_boxes' not in outs[0] and outs[0]['boxes'] != outs[1]['boxes']  # no tracker moved them
    assert len(stable.tracker.boxes) == 0
