//! Tests of the call list: numbers, names and the typed requests.

use super::request::{self, call_of, round_trip};
use super::*;
use crate::Status;

#[test]
fn numbers_round_trip_and_are_dense() {
    for (index, call) in Hypercall::ALL.into_iter().enumerate() {
        assert_eq!(call as u64, index as u64);
        assert_eq!(Hypercall::from_number(index as u64), Some(call));
    }
    assert_eq!(Hypercall::from_number(Hypercall::ALL.len() as u64), None);
    assert_eq!(Hypercall::ALL[29], Hypercall::SetSyscallEntry);
    assert_eq!(Hypercall::ALL.last(), Some(&Hypercall::DomainName));
    assert_eq!(Hypercall::SetSyscallEntry.name(), "set_syscall_entry");
    assert_eq!(Hypercall::DmaAddress.name(), "dma_address");
    assert_eq!(Hypercall::from_number(u64::MAX), None);
}

#[test]
fn every_request_names_its_call_and_round_trips_its_arguments() {
    let registers = [11, 22, 33, 44, 55];
    for call in Hypercall::ALL {
        assert_eq!(call_of(call), call, "{}", call.name());
        let used = call.arguments().len();
        assert!(used <= 5, "{}", call.name());
        let mut expected = [0; 5];
        expected[..used].copy_from_slice(&registers[..used]);
        assert_eq!(round_trip(call, &registers), expected, "{}", call.name());
        assert_eq!(round_trip(call, &expected), expected, "{}", call.name());
    }
}

#[test]
fn fields_are_the_registers_in_order() {
    let request = request::BlockQueueSetup::from_args(&[1, 2, 3, 4, 5]);
    assert_eq!(
        request,
        request::BlockQueueSetup {
            descriptors: 1,
            available: 2,
            used: 3,
            size: 4,
        }
    );
    let write = request::ConsoleWrite { ptr: 7, len: 9 };
    assert_eq!(write.to_args(), [7, 9, 0, 0, 0]);
    assert_eq!(request::Yield.to_args(), [0; 5]);
    assert_eq!(request::EventStatus::CALL, Hypercall::EventStatus);
    assert_eq!(
        Hypercall::EventBindInterdomain.arguments(),
        ["remote_domain", "remote_port"]
    );
}

#[test]
fn signatures_name_arguments_and_result() {
    assert_eq!(Hypercall::AbiVersion.signature(), "abi_version() -> u32");
    assert_eq!(Hypercall::Yield.signature(), "yield() -> ()");
    assert_eq!(
        Hypercall::ConsoleWrite.signature(),
        "console_write(ptr, len) -> u64"
    );
    assert_eq!(
        Hypercall::EventStatus.signature(),
        "event_status(port) -> PortStatus"
    );
}

#[test]
fn results_round_trip_through_rax() {
    let port: Result<u32, Status> = Ok(7);
    assert_eq!(decode_result::<u32>(encode_result(port)), port);
    assert_eq!(encode_result(Ok(())), 0);
    let refused: Result<(), Status> = Err(Status::BadPort);
    assert_eq!(encode_result(refused), Status::BadPort.to_raw());
    assert_eq!(decode_result::<()>(encode_result(refused)), refused);
    assert_eq!(
        decode_result::<u64>(u64::MAX),
        Err(Status::UnknownHypercall)
    );
    assert_eq!(decode_result::<u64>(1 << 63), Err(Status::InvalidArgument));
}

#[test]
fn replies_round_trip_and_refuse_what_they_cannot_hold() {
    use crate::event::{PortState, PortStatus};
    assert_eq!(u64::from_raw(u64::MAX), Ok(u64::MAX));
    assert_eq!(().to_raw(), 0);
    assert_eq!(<()>::from_raw(5), Ok(()));
    assert_eq!(u32::from_raw(7u32.to_raw()), Ok(7));
    assert_eq!(u32::from_raw(1 << 32), Err(Status::InvalidArgument));
    let status = PortStatus {
        state: PortState::Virq,
        remote_domain_or_virq: 2,
        remote_port: 0,
    };
    assert_eq!(PortStatus::from_raw(status.to_raw()), Ok(status));
    assert_eq!(PortStatus::from_raw(9), Err(Status::InvalidArgument));
}

#[test]
fn grant_calls_follow_set_syscall_entry() {
    let grants = [
        (Hypercall::GrantAccess, 30, "grant_access"),
        (Hypercall::GrantEnd, 31, "grant_end"),
        (Hypercall::GrantMap, 32, "grant_map"),
        (Hypercall::GrantUnmap, 33, "grant_unmap"),
        (Hypercall::GrantCopyFrom, 34, "grant_copy_from"),
        (Hypercall::GrantCopyTo, 35, "grant_copy_to"),
    ];
    for (call, number, name) in grants {
        assert_eq!(call as u64, number);
        assert_eq!(call.name(), name);
    }
}

#[test]
fn backend_calls_follow_watchdog() {
    let calls = [
        (Hypercall::BackendOffer, 42, "backend_offer"),
        (Hypercall::BackendDomain, 43, "backend_domain"),
        (Hypercall::FrontendConnect, 44, "frontend_connect"),
        (Hypercall::BackendAccept, 45, "backend_accept"),
    ];
    for (call, number, name) in calls {
        assert_eq!(call as u64, number);
        assert_eq!(call.name(), name);
    }
}
