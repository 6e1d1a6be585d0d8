//! The REST `methodArn` and the API ARN allow-list.

use crate::error::AuthzError;

/// The parts of a REST `methodArn`:
/// `arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID/STAGE/VERB/RESOURCE...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// `arn:PARTITION:execute-api:REGION:ACCOUNT`.
    pub prefix: &'a str,
    /// API id.
    pub api_id: &'a str,
    /// Stage name.
    pub stage: &'a str,
    /// HTTP verb.
    pub verb: &'a str,
    /// Resource path without the leading slash (may be empty for `/`).
    pub resource: &'a str,
}

impl<'a> MethodArn<'a> {
    /// Parses and checks the shape; anything else is an invalid event (API Gateway never sends it).
    pub fn parse(arn: &'a str) -> Result<MethodArn<'a>, AuthzError> {
        let bad = || AuthzError::InvalidEvent("methodArn is not an execute-api method ARN".into());
        if arn.len() > 1600 {
            return Err(bad());
        }
        let mut fields = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some("execute-api"),
            Some(region),
            Some(account),
            Some(path),
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(bad());
        };
        let simple = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !simple(partition) || !simple(region) || !simple(account) {
            return Err(bad());
        }
        let prefix = &arn[..arn.len() - path.len() - 1];
        let mut segs = path.splitn(4, '/');
        let (Some(api_id), Some(stage), Some(verb)) = (segs.next(), segs.next(), segs.next())
        else {
            return Err(bad());
        };
        if !simple(api_id) || stage.is_empty() || stage.contains('*') || verb.is_empty() {
            return Err(bad());
        }
        Ok(MethodArn {
            prefix,
            api_id,
            stage,
            verb,
            resource: segs.next().unwrap_or(""),
        })
    }

    /// `…:API_ID/STAGE/*`: every method of every resource of this stage.
    pub fn stage_wildcard(&self) -> String {
        format!("{}:{}/{}/*", self.prefix, self.api_id, self.stage)
    }

    /// `VERB /resource`, for logs.
    pub fn route(&self) -> String {
        format!("{} /{}", self.verb, self.resource)
    }
}

/// The API ARN allow-list: empty allows any API; an entry `…:API_ID` allows every stage of that
/// API, `…:API_ID/STAGE` one stage.
pub fn api_allowed(allowed: &[String], arn: &MethodArn<'_>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let api = format!("{}:{}", arn.prefix, arn.api_id);
    allowed.iter().any(|entry| {
        entry == &api
            || entry
                .strip_prefix(api.as_str())
                .and_then(|s| s.strip_prefix('/'))
                == Some(arn.stage)
    })
}
