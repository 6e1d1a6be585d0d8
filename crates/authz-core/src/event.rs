//! Extraction: what a request offers, taken out of its API Gateway event. Pure.
//!
//! Parses the three event types (errors never echo the input), finds the one credential (header
//! or query parameter, RFC 6750 §2), the identity-binding header and the stage variables.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};

use crate::error::AuthzError;

/// Stage variable naming the rule set for the stage (REQUEST and HTTP authorizers).
pub const STAGE_ROUTE_SET: &str = "authzRouteSet";
/// Stage variable overriding the accepted audiences (comma-separated).
pub const STAGE_AUDIENCE: &str = "authzAudience";
/// Stage variable listing scopes of which the token needs one, on every route of the stage.
pub const STAGE_SCOPES: &str = "authzScopes";

/// Identity binding: the request header `header` (lower-case) must equal the claim `claim`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Request header, lower-case.
    pub header: String,
    /// Claim whose string value the header must equal.
    pub claim: String,
}

/// Where a REQUEST or HTTP event carries what the authorizer reads.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Header carrying the token, lower-case.
    pub token_header: String,
    /// Query-string parameter that may carry the token instead.
    pub token_query_param: Option<String>,
    /// Header of the identity binding, lower-case.
    pub bind_header: Option<String>,
}

/// What a request offers, once extracted from its event.
#[derive(Debug)]
pub struct Input<'a> {
    /// The one credential, or why there is none usable (several at once).
    pub credential: Result<Option<Credential<'a>>, AuthzError>,
    /// The stage variables (REQUEST and HTTP events).
    pub stage_variables: Option<&'a HashMap<String, String>>,
    /// The binding header's one value, if binding is configured.
    pub bind_value: Result<Option<&'a str>, AuthzError>,
    /// The `DPoP` header's one value (RFC 9449 §4.3 step 1: several are refused).
    pub dpop_proof: Result<Option<&'a str>, AuthzError>,
    /// The request's method (REQUEST and HTTP events).
    pub method: Option<&'a str>,
    /// The request's URL without query and fragment, as the client addressed it (see
    /// [`request_url`]); `None` when the event does not say.
    pub url: Option<String>,
    /// The client certificate (PEM) of a mutual-TLS request.
    pub client_cert: Option<&'a str>,
}

/// The URL a client addressed, rebuilt from the event (the DPoP `htu`): `https://`, the domain
/// the client used, and the path as the client sent it. REST: the `Host` header and
/// `requestContext.path` (`/{stage}/…` on the default endpoint, `/{base-path}/…` on a custom
/// domain); HTTP API: `requestContext.domainName` and `rawPath` (which carries the stage, or the
/// API mapping key on a custom domain). API Gateway only serves HTTPS on the default port.
pub fn request_url(host: Option<&str>, path: Option<&str>) -> Option<String> {
    let host = host.filter(|h| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    })?;
    let path = path.filter(|p| p.starts_with('/'))?;
    Some(format!("https://{host}{path}"))
}

impl<'a> Input<'a> {
    /// A non-empty stage variable.
    pub fn stage(&self, name: &str) -> Option<&'a String> {
        self.stage_variables
            .and_then(|v| v.get(name))
            .filter(|v| !v.is_empty())
    }

    /// A list-valued stage variable (`authzAudience`, `authzScopes`): `None` when the stage does
    /// not set it; one that reads as an empty list is a configuration error naming it (500),
    /// never "no list" (an empty audience list would turn the audience check off).
    pub fn stage_list(&self, name: &str) -> Result<Option<Vec<String>>, AuthzError> {
        match self.stage_variables.and_then(|v| v.get(name)) {
            None => Ok(None),
            Some(raw) => stage_list(name, raw)
                .map(Some)
                .map_err(AuthzError::Internal),
        }
    }
}

/// The items of the list-valued stage variable `name` (comma-separated, as [`split_list`]); a
/// value with none (empty, blanks, `,`) is refused with a message naming the variable.
pub fn stage_list(name: &str, raw: &str) -> Result<Vec<String>, String> {
    let list = split_list(raw);
    if list.is_empty() {
        return Err(format!(
            "stage variable {name} is set but lists nothing; give it a value or remove it"
        ));
    }
    Ok(list)
}

/// A TOKEN event: the `authorizationToken` is the header value; no stage variables.
pub fn token_input(event: &ApiGatewayCustomAuthorizerRequest) -> Input<'_> {
    Input {
        credential: Ok(event.authorization_token.as_deref().map(Credential::Header)),
        stage_variables: None,
        bind_value: Ok(None),
        dpop_proof: Ok(None),
        method: None,
        url: None,
        client_cert: None,
    }
}

/// A REST REQUEST event: the token from the configured header (`headers` and
/// `multiValueHeaders`, case-insensitive) or query parameter.
pub fn request_input<'a>(
    event: &'a ApiGatewayCustomAuthorizerRequestTypeRequest,
    sources: &Sources,
) -> Input<'a> {
    // `multiValueHeaders` holds every value when present; `headers` only the last one.
    let header = |name: &str| {
        let multi = event.multi_value_headers.contains_key(name);
        header_values(
            if multi {
                &event.multi_value_headers
            } else {
                &event.headers
            },
            name,
        )
    };
    let query: Vec<&str> = match &sources.token_query_param {
        Some(q) if !event.multi_value_query_string_parameters.is_empty() => event
            .multi_value_query_string_parameters
            .all(q)
            .unwrap_or_default(),
        Some(q) => event.query_string_parameters.all(q).unwrap_or_default(),
        None => Vec::new(),
    };
    let credential = pick(header(&sources.token_header), query);
    let bind_value = match &sources.bind_header {
        None => Ok(None),
        Some(h) => match header(h).as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(AuthzError::ClaimMismatch),
        },
    };
    let one = |name: &str| match header(name).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(AuthzError::DpopProofInvalid("more than one DPoP header")),
    };
    let host = match header("host").as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    let ctx = &event.request_context;
    Input {
        credential,
        stage_variables: Some(&event.stage_variables),
        bind_value,
        dpop_proof: one(DPOP_HEADER),
        method: event
            .http_method
            .as_ref()
            .or(ctx.http_method.as_ref())
            .map(|m| m.as_str()),
        url: request_url(host, ctx.path.as_deref()),
        client_cert: ctx
            .identity
            .as_ref()
            .and_then(|i| i.client_cert.as_ref())
            .and_then(|c| c.client_cert_pem.as_deref()),
    }
}

/// The header carrying a DPoP proof (RFC 9449 §4.1), lower-case.
pub const DPOP_HEADER: &str = "dpop";

/// An HTTP API (payload 2.0) event.
pub fn http_input<'a>(
    event: &'a ApiGatewayV2CustomAuthorizerV2Request,
    sources: &Sources,
) -> Input<'a> {
    let query: Vec<&str> = sources
        .token_query_param
        .as_ref()
        .and_then(|q| event.query_string_parameters.get(q))
        .map(|v| vec![v.as_str()])
        .unwrap_or_default();
    let credential = pick(header_values(&event.headers, &sources.token_header), query);
    let bind_value = match &sources.bind_header {
        None => Ok(None),
        Some(h) => Ok(event.headers.get(h).and_then(|v| v.to_str().ok())),
    };
    let ctx = &event.request_context;
    Input {
        credential,
        stage_variables: Some(&event.stage_variables),
        bind_value,
        dpop_proof: match header_values(&event.headers, DPOP_HEADER).as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(AuthzError::DpopProofInvalid("more than one DPoP header")),
        },
        method: Some(ctx.http.method.as_str()),
        url: request_url(ctx.domain_name.as_deref(), event.raw_path.as_deref()),
        client_cert: ctx
            .authentication
            .as_ref()
            .and_then(|a| a.client_cert.as_ref())
            .and_then(|c| c.client_cert_pem.as_deref()),
    }
}

/// Splits a comma-separated list, trimming items and dropping empty ones (stage variables, and
/// the list-valued settings of the configuration).
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Every value of header `name` (case-insensitive). A value that is not visible ASCII becomes
/// U+FFFD, which no bearer token or bound claim can equal: it is refused, never dropped, so a
/// second value still counts as a second credential.
pub fn header_values<'a>(
    headers: &'a aws_lambda_events::http::HeaderMap,
    name: &str,
) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .collect()
}

/// Where a request's one credential was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A header value (`Bearer <token>`).
    Header(&'a str),
    /// A query-string value: the bare token (RFC 6750 §2.3).
    Query(&'a str),
}

/// The one credential of a request: from the token header (all its values) or the token
/// query parameter (all its values). Two values, or both places at once, is a reject.
pub fn pick<'a>(
    header_values: Vec<&'a str>,
    query_values: Vec<&'a str>,
) -> Result<Option<Credential<'a>>, AuthzError> {
    match (header_values.as_slice(), query_values.as_slice()) {
        ([], []) => Ok(None),
        ([one], []) => Ok(Some(Credential::Header(one))),
        ([], [one]) => Ok(Some(Credential::Query(one))),
        _ => Err(AuthzError::MultipleCredentials),
    }
}

/// Parses an authorizer event. The error never echoes the input (serde messages can quote a
/// value, and the event carries the token): only the category and position are kept.
pub fn parse_event<T: serde::de::DeserializeOwned>(raw: &str) -> Result<T, AuthzError> {
    serde_json::from_str(raw).map_err(|e| {
        AuthzError::InvalidEvent(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod pick_tests {
    use super::*;

    #[test]
    fn one_credential_only() {
        assert_eq!(pick(vec![], vec![]), Ok(None));
        assert_eq!(
            pick(vec!["Bearer a"], vec![]),
            Ok(Some(Credential::Header("Bearer a")))
        );
        assert_eq!(pick(vec![], vec!["a"]), Ok(Some(Credential::Query("a"))));
        assert_eq!(
            pick(vec!["Bearer a", "Bearer b"], vec![]),
            Err(AuthzError::MultipleCredentials)
        );
        assert_eq!(
            pick(vec!["Bearer a"], vec!["a"]),
            Err(AuthzError::MultipleCredentials)
        );
        assert_eq!(
            pick(vec![], vec!["a", "b"]),
            Err(AuthzError::MultipleCredentials)
        );
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;
    use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest as Tok;

    #[test]
    fn event_errors_do_not_echo_input() {
        let secret = "eyJhbGciOiJSUzI1NiJ9.secret.sig";
        let raw = format!(
            r#"{{"type":"TOKEN","authorizationToken":"{secret}","methodArn":["{secret}"]}}"#
        );
        let e = parse_event::<Tok>(&raw)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("Data error"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }
}
