//! TLS: the local interception CA (leaf minting arrives with the data path).

pub mod ca;
