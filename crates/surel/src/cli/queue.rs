//! `surel queue list | show | retry | drop`

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use surel_config::Config;
use surel_message::DsnAction;
use surel_store::{QueueEntry, QueueId, QueueTarget, RecipientState, Store, StoreError};

use super::QueueCommand;

pub async fn run(store: Arc<dyn Store>, config: &Config, command: QueueCommand) -> Result<()> {
    match command {
        QueueCommand::List => {
            let entries = store
                .queue_entries()
                .await
                .context("cannot list the queue")?;
            for entry in &entries {
                for r in &entry.recipients {
                    // One line per recipient: id, sender, recipient, state, attempts, next
                    // attempt, last error.
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        entry.id,
                        sender(entry),
                        r.address,
                        r.state.as_str(),
                        r.attempts,
                        if r.state == RecipientState::Pending {
                            r.next_attempt.to_rfc3339()
                        } else {
                            "-".into()
                        },
                        r.last_error.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
        QueueCommand::Show { id } => {
            let id = parse_id(&id)?;
            let Some(entry) = store
                .queue_entry(id)
                .await
                .context("cannot read the queue")?
            else {
                bail!("queue entry {id} does not exist");
            };
            println!("id: {}", entry.id);
            println!("from: {}", sender(&entry));
            println!("arrival: {}", entry.arrival.to_rfc3339());
            println!("size: {}", entry.size);
            println!("delay warning sent: {}", entry.delay_warned);
            for r in &entry.recipients {
                println!(
                    "recipient: {} state={} attempts={} next={} status={} remote={} error={}",
                    r.address,
                    r.state.as_str(),
                    r.attempts,
                    r.next_attempt.to_rfc3339(),
                    r.status.as_deref().unwrap_or("-"),
                    r.remote_mta.as_deref().unwrap_or("-"),
                    r.last_error.as_deref().unwrap_or("-"),
                );
            }
            Ok(())
        }
        QueueCommand::Retry { id, all } => {
            let target = match (id, all) {
                (Some(id), false) => QueueTarget::One(parse_id(&id)?),
                (None, true) => QueueTarget::All,
                _ => bail!("give a queue id or --all"),
            };
            match store.retry_now(target, chrono::Utc::now()).await {
                Ok(n) => {
                    println!("{n} queue entries due now");
                    Ok(())
                }
                Err(StoreError::NotFound(what)) => bail!("{what} does not exist"),
                Err(e) => Err(e).context("cannot reschedule"),
            }
        }
        QueueCommand::Drop { id, silent } => {
            let id = parse_id(&id)?;
            let entry = match store.drop_entry(id).await {
                Ok(entry) => entry,
                Err(StoreError::NotFound(what)) => bail!("{what} does not exist"),
                Err(e) => return Err(e).context("cannot drop the entry"),
            };
            if silent {
                return Ok(());
            }
            let original = store.read_blob(&entry.blob).await.unwrap_or_default();
            let lines: Vec<_> = entry
                .recipients
                .iter()
                .filter(|r| r.state == RecipientState::Pending)
                .map(|r| {
                    let mut r = r.clone();
                    r.status = Some("5.0.0".into());
                    r.last_error = Some("removed from the queue by the administrator".into());
                    surel_queue::bounce::recipient(&r, DsnAction::Failed, None)
                })
                .collect();
            let sent = surel_queue::bounce::send(
                &store,
                &config.hostname,
                chrono::Utc::now(),
                &entry,
                &original,
                &lines,
            )
            .await
            .context("cannot send the DSN")?;
            println!("dropped {id}; DSN: {sent:?}");
            Ok(())
        }
    }
}

fn sender(entry: &QueueEntry) -> String {
    entry
        .from
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "<>".into())
}

fn parse_id(text: &str) -> Result<QueueId> {
    text.parse()
        .with_context(|| format!("bad queue id {text:?}"))
}
