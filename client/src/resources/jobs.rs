//! `client.jobs()`: parse jobs of any kind, by id.

use crate::{Client, Error, types};

/// Parse jobs of a [`Client`]: `client.jobs()`. To start a job or wait on one, see
/// [`Client::start_job`] and [`Client::job`].
///
/// ```no_run
/// # async fn demo(client: invaro::Client) -> Result<(), invaro::Error> {
/// let job = client.jobs().get("job_4f1c").await?;
/// println!("{} is {}", job.job_id, job.status);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Jobs<'a> {
    client: &'a Client,
}

impl<'a> Jobs<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// A job's state, whatever its kind (`GET /jobs/{job_id}`).
    ///
    /// # Errors
    ///
    /// the API's refusal after any retries ([`Error::Api`](crate::Error::Api),
    /// [`Error::RateLimited`](crate::Error::RateLimited) for a 429), no whole answer
    /// ([`Error::Transport`](crate::Error::Transport)) or an answer of another shape
    /// ([`Error::Decode`](crate::Error::Decode)).
    pub async fn get(&self, job_id: impl AsRef<str>) -> Result<types::Job, Error> {
        let call = self
            .client
            .api()
            .get_general_job_status()
            .job_id(job_id.as_ref());
        Ok(self.client.call(call.send()).await?.data)
    }
}
