//! A small blocking JSON client for the vault's API.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body.
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot reach the vault: {0}")]
    Transport(String),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Crypto(#[from] crate::crypto::CryptoError),
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("unexpected answer from the vault: {0}")]
    Protocol(String),
    /// A check against something the vault cannot forge failed: the device refuses.
    #[error("REFUSED: {0}")]
    Refused(String),
}

impl ClientError {
    /// The server's error code, if this is an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub struct Api {
    base: String,
    http: reqwest::blocking::Client,
    token: Option<String>,
}

impl Api {
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            token: None,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn with_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn set_token(&mut self, token: String) {
        self.token = Some(token);
    }

    fn send<T: DeserializeOwned>(
        &self,
        req: reqwest::blocking::RequestBuilder,
    ) -> Result<T, ClientError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let res = req
            .send()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = res.status();
        let body: Value = res
            .json()
            .map_err(|e| ClientError::Protocol(format!("{status}: {e}")))?;
        if !status.is_success() {
            return Err(ClientError::Api {
                status: status.as_u16(),
                code: body["error"].as_str().unwrap_or("unknown").to_owned(),
                message: body["message"].as_str().unwrap_or("").to_owned(),
            });
        }
        serde_json::from_value(body).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.get(self.url(path)))
    }

    /// A `text/plain` resource (checkpoints, keys).
    pub fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let res = self
            .http
            .get(self.url(path))
            .send()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = res.status();
        let text = res
            .text()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if !status.is_success() {
            return Err(ClientError::Api {
                status: status.as_u16(),
                code: "unexpected".into(),
                message: text,
            });
        }
        Ok(text)
    }

    pub fn get_query<T: DeserializeOwned, Q: Serialize + ?Sized>(
        &self,
        path: &str,
        q: &Q,
    ) -> Result<T, ClientError> {
        self.send(self.http.get(self.url(path)).query(q))
    }

    pub fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(self.http.post(self.url(path)).json(body))
    }

    pub fn post_form<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        form: &B,
    ) -> Result<T, ClientError> {
        let body =
            serde_urlencoded::to_string(form).map_err(|e| ClientError::Usage(e.to_string()))?;
        self.send(
            self.http
                .post(self.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
    }

    pub fn put<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.send(self.http.put(self.url(path)).json(body))
    }

    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.send(self.http.delete(self.url(path)))
    }
}
