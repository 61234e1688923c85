//! multi (14) and multiRead (22): a run of sub-ops, each behind a [`MultiHeader`].

use bytes::BytesMut;

use crate::jute::{Reader, Record};
use crate::ops::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteRequest, ErrorResponse, GetChildrenRequest, GetChildrenResponse, GetDataRequest,
    GetDataResponse, SetDataRequest, StatResponse,
};
use crate::{ErrorCode, MultiHeader, OpCode, ProtoError};

/// One op of a multi or multiRead request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum MultiOp {
    /// create (1): the result carries only the path.
    Create(CreateRequest),
    /// create2 (15): the result carries the path and Stat.
    Create2(CreateRequest),
    /// createContainer (19).
    CreateContainer(CreateRequest),
    /// createTTL (21).
    CreateTtl(CreateTtlRequest),
    /// delete (2).
    Delete(DeleteRequest),
    /// setData (5).
    SetData(SetDataRequest),
    /// check (13).
    Check(CheckVersionRequest),
    /// getData (4), multiRead only.
    GetData(GetDataRequest),
    /// getChildren (8), multiRead only.
    GetChildren(GetChildrenRequest),
}

impl MultiOp {
    /// The op's opcode.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(_) => OpCode::Create,
            MultiOp::Create2(_) => OpCode::Create2,
            MultiOp::CreateContainer(_) => OpCode::CreateContainer,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetData(_) => OpCode::GetData,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
        }
    }

    /// The path the op acts on.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => &r.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetData(r) => &r.path,
            MultiOp::GetChildren(r) => &r.path,
        }
    }

    /// Whether the op only reads (allowed in multiRead, not in multi).
    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetData(_) | MultiOp::GetChildren(_))
    }

    fn encode_body(&self, buf: &mut BytesMut) {
        match self {
            MultiOp::Create(r) | MultiOp::Create2(r) | MultiOp::CreateContainer(r) => r.encode(buf),
            MultiOp::CreateTtl(r) => r.encode(buf),
            MultiOp::Delete(r) => r.encode(buf),
            MultiOp::SetData(r) => r.encode(buf),
            MultiOp::Check(r) => r.encode(buf),
            MultiOp::GetData(r) => r.encode(buf),
            MultiOp::GetChildren(r) => r.encode(buf),
        }
    }

    fn decode_body(op_type: i32, r: &mut Reader) -> Result<Self, ProtoError> {
        let op = OpCode::try_from(op_type).map_err(|_| ProtoError::UnknownOpCode(op_type))?;
        Ok(match op {
            OpCode::Create => MultiOp::Create(CreateRequest::decode(r)?),
            OpCode::Create2 => MultiOp::Create2(CreateRequest::decode(r)?),
            OpCode::CreateContainer => MultiOp::CreateContainer(CreateRequest::decode(r)?),
            OpCode::CreateTtl => MultiOp::CreateTtl(CreateTtlRequest::decode(r)?),
            OpCode::Delete => MultiOp::Delete(DeleteRequest::decode(r)?),
            OpCode::SetData => MultiOp::SetData(SetDataRequest::decode(r)?),
            OpCode::Check => MultiOp::Check(CheckVersionRequest::decode(r)?),
            OpCode::GetData => MultiOp::GetData(GetDataRequest::decode(r)?),
            OpCode::GetChildren => MultiOp::GetChildren(GetChildrenRequest::decode(r)?),
            other => return Err(ProtoError::UnknownOpCode(other.code())),
        })
    }
}

/// The body of a multi (14) or multiRead (22) request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct MultiRequest {
    /// The ops, in order.
    pub ops: Vec<MultiOp>,
}

impl Record for MultiRequest {
    fn encode(&self, buf: &mut BytesMut) {
        for op in &self.ops {
            MultiHeader {
                op_type: op.op_code().code(),
                done: false,
                err: -1,
            }
            .encode(buf);
            op.encode_body(buf);
        }
        MultiHeader::DONE.encode(buf);
    }

    fn decode(r: &mut Reader) -> Result<Self, ProtoError> {
        let mut ops = Vec::new();
        loop {
            if r.is_empty() {
                return Err(ProtoError::UnterminatedMulti("request"));
            }
            let h = MultiHeader::decode(r)?;
            if h.done {
                return Ok(MultiRequest { ops });
            }
            ops.push(MultiOp::decode_body(h.op_type, r)?);
        }
    }
}

/// One result of a multi or multiRead response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
#[non_exhaustive]
pub enum MultiResult {
    /// Result of create (1).
    Create(CreateResponse),
    /// Result of create2, createContainer or createTTL (all reported as type 15).
    Create2(Create2Response),
    /// Result of delete.
    Delete,
    /// Result of setData.
    SetData(StatResponse),
    /// Result of check.
    Check,
    /// Result of getData (multiRead).
    GetData(GetDataResponse),
    /// Result of getChildren (multiRead).
    GetChildren(GetChildrenResponse),
    /// The op failed with this code (or, after the failing op of a multi, RUNTIMEINCONSISTENCY).
    Error(ErrorCode),
}

impl MultiResult {
    fn op_type(&self) -> i32 {
        match self {
            MultiResult::Create(_) => OpCode::Create.code(),
            MultiResult::Create2(_) => OpCode::Create2.code(),
            MultiResult::Delete => OpCode::Delete.code(),
            MultiResult::SetData(_) => OpCode::SetData.code(),
            MultiResult::Check => OpCode::Check.code(),
            MultiResult::GetData(_) => OpCode::GetData.code(),
            MultiResult::GetChildren(_) => OpCode::GetChildren.code(),
            MultiResult::Error(_) => OpCode::Error.code(),
        }
    }
}

/// The body of a multi or multiRead reply (its `ReplyHeader.err` is 0 even when an op failed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(any(test, feature = "arbitrary"), derive(arbitrary::Arbitrary))]
pub struct MultiResponse {
    /// One result per op, in order.
    pub results: Vec<MultiResult>,
}

impl MultiResponse {
    /// The first error result that is not RUNTIMEINCONSISTENCY, with its index: why a multi failed.
    pub fn first_error(&self) -> Option<(usize, ErrorCode)> {
        self.results.iter().enumerate().find_map(|(i, r)| match r {
            MultiResult::Error(c) if !c.is_ok() && *c != ErrorCode::RuntimeInconsistency => {
                Some((i, *c))
            }
            _ => None,
        })
    }
}

impl Record for MultiResponse {
    fn encode(&self, buf: &mut BytesMut) {
        for res in &self.results {
            let err = match res {
                MultiResult::Error(c) => c.code(),
                _ => 0,
            };
            MultiHeader {
                op_type: res.op_type(),
                done: false,
                err,
            }
            .encode(buf);
            match res {
                MultiResult::Create(r) => r.encode(buf),
                MultiResult::Create2(r) => r.encode(buf),
                MultiResult::SetData(r) => r.encode(buf),
                MultiResult::GetData(r) => r.encode(buf),
                MultiResult::GetChildren(r) => r.encode(buf),
                MultiResult::Error(c) => ErrorResponse { err: *c }.encode(buf),
                MultiResult::Delete | MultiResult::Check => {}
            }
        }
        MultiHeader::DONE.encode(buf);
    }

    fn decode(r: &mut Reader) -> Result<Self, ProtoError> {
        let mut results = Vec::new();
        loop {
            if r.is_empty() {
                return Err(ProtoError::UnterminatedMulti("response"));
            }
            let h = MultiHeader::decode(r)?;
            if h.done {
                return Ok(MultiResponse { results });
            }
            let op =
                OpCode::try_from(h.op_type).map_err(|_| ProtoError::UnknownOpCode(h.op_type))?;
            results.push(match op {
                OpCode::Create => MultiResult::Create(CreateResponse::decode(r)?),
                OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                    MultiResult::Create2(Create2Response::decode(r)?)
                }
                OpCode::Delete | OpCode::DeleteContainer => MultiResult::Delete,
                OpCode::SetData => MultiResult::SetData(StatResponse::decode(r)?),
                OpCode::Check => MultiResult::Check,
                OpCode::GetData => MultiResult::GetData(GetDataResponse::decode(r)?),
                OpCode::GetChildren => MultiResult::GetChildren(GetChildrenResponse::decode(r)?),
                OpCode::Error => MultiResult::Error(ErrorResponse::decode(r)?.err),
                other => return Err(ProtoError::UnknownOpCode(other.code())),
            });
        }
    }
}
