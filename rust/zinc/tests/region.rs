// SPDX-License-Identifier: MIT
//! Zinc regions through the safe API: create/open, shared bytes,
//! notify/wait across threads, errors.

mod common;

use std::thread;
use std::time::Duration;

use common::Name;
use zinc::{ErrorKind, Region, RegionOptions, Timeout};

#[test]
fn two_handles_share_the_data_area() {
    let name = Name::new("region_share");
    let mut w = Region::create(&name, 8192).unwrap();
    let r = Region::open(&name).unwrap();
    assert_eq!((w.capacity(), r.capacity(), w.layout()), (8192, 8192, 1));
    // SAFETY: only this thread touches the region while the slices live.
    unsafe { w.as_mut_slice()[..5].copy_from_slice(b"zinc!") };
    assert_eq!(unsafe { &r.as_slice()[..5] }, b"zinc!");
    let info = r.info().unwrap();
    assert_eq!((info.capacity, info.owner_alive, info.is_ring), (8192, 1, 0));
    assert_eq!(zinc::inspect(&name).unwrap().capacity, 8192);
}

#[test]
fn notify_wakes_a_waiter_in_another_thread() {
    let name = Name::new("region_notify");
    let owner = Region::create(&name, 4096).unwrap();
    let mut peer = Region::open(&name).unwrap();
    assert!(!peer.try_wait().unwrap());
    assert!(!peer.wait(Timeout::Poll).unwrap());
    assert!(!peer.wait(Duration::from_millis(10)).unwrap());

    let waiter = thread::spawn(move || {
        let woke = peer.wait(Duration::from_secs(20)).unwrap();
        (woke, peer.try_wait().unwrap())
    });
    owner.notify();
    // Woken, and the notification was consumed by the wait.
    assert_eq!(waiter.join().unwrap(), (true, false));
}

#[test]
fn region_errors() {
    let name = Name::new("region_errors");
    assert_eq!(Region::open(&name).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(Region::create(&name, 100).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let _r = Region::create_with(
        &name,
        4096,
        &RegionOptions { layout_version: 2, ..Default::default() },
    )
    .unwrap();
    assert_eq!(Region::open(&name).unwrap().layout(), 2);
    let e = Region::create(&name, 4096).unwrap_err();
    assert_eq!((e.kind(), e.code()), (ErrorKind::AlreadyExists, -17));
    zinc::unlink(&name).unwrap();
    assert_eq!(zinc::unlink(&name).unwrap_err().kind(), ErrorKind::NotFound);
}
