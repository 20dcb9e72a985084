use surel_store::{AliasSource, Lookup, Store, StoreResult};
use surel_types::{AccountId, Address, Domain};

/// What a recipient address means to us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// Ours: deliver to these accounts.
    Local(Vec<AccountId>),
    /// A local domain, but no such user (RFC 5321 `550 5.1.1`).
    UnknownUser,
    /// Not one of our domains: only an authenticated user may relay there.
    NotLocal,
}

/// Alias chains longer than this are treated as a loop.
const MAX_ALIAS_DEPTH: usize = 5;

/// Resolves recipient addresses against the store.
pub struct Router<'a> {
    store: &'a dyn Store,
}

impl<'a> Router<'a> {
    /// A router over `store`.
    pub fn new(store: &'a dyn Store) -> Self {
        Self { store }
    }

    /// Applies, in order: the exact address (account or alias), the address without its `+tag`,
    /// the domain's catch-all, and for `postmaster` (RFC 5321 §4.5.1: must be accepted) the
    /// domain's first account.
    pub async fn resolve(&self, rcpt: &Address) -> StoreResult<Recipient> {
        if rcpt.domain().is_literal() || !self.store.is_local_domain(rcpt.domain()).await? {
            return Ok(Recipient::NotLocal);
        }
        let mut candidates = vec![AliasSource::Address(rcpt.clone())];
        if let Some(base) = rcpt.without_subaddress() {
            candidates.push(AliasSource::Address(base));
        }
        candidates.push(AliasSource::CatchAll(rcpt.domain().clone()));
        for source in candidates {
            if let Some(found) = self.store.lookup(&source).await? {
                let accounts = self.expand(found, 0).await?;
                return Ok(if accounts.is_empty() {
                    Recipient::UnknownUser
                } else {
                    Recipient::Local(accounts)
                });
            }
        }
        if rcpt.local().eq_ignore_ascii_case("postmaster") {
            let first = self
                .store
                .accounts()
                .await?
                .into_iter()
                .find(|a| a.address.domain() == rcpt.domain());
            if let Some(account) = first {
                return Ok(Recipient::Local(vec![account.id]));
            }
        }
        Ok(Recipient::UnknownUser)
    }

    /// Whether the account `account` may use `sender` as its envelope sender or From
    /// (DESIGN §1, RFC 6409 §4.3: the MSA checks the submitter may use the address): its own
    /// address, a `+tag` of it, or an alias that leads to it. Catch-alls do not count.
    pub async fn may_send_as(&self, account: AccountId, sender: &Address) -> StoreResult<bool> {
        let mut candidates = vec![sender.clone()];
        if let Some(base) = sender.without_subaddress() {
            candidates.push(base);
        }
        for candidate in candidates {
            if let Some(found) = self.store.lookup(&AliasSource::Address(candidate)).await?
                && self.expand(found, 0).await?.contains(&account)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The address `RCPT TO:<Postmaster>` (no domain) means, RFC 5321 §4.5.1: postmaster at our
    /// host name when that is a local domain, else at the first local domain; `None` without any.
    pub async fn postmaster(&self, hostname: &str) -> StoreResult<Option<Address>> {
        let ours = match Domain::parse(hostname) {
            Ok(domain) if self.store.is_local_domain(&domain).await? => Some(domain),
            _ => self.store.domains().await?.into_iter().next(),
        };
        Ok(ours.and_then(|domain| Address::new("postmaster", domain).ok()))
    }

    /// The accounts an account or alias ends at. Targets that are not local accounts (a deleted
    /// account, a remote address) are skipped: remote forwarding is not done.
    async fn expand(&self, found: Lookup, depth: usize) -> StoreResult<Vec<AccountId>> {
        let targets = match found {
            Lookup::Account(id) => return Ok(vec![id]),
            Lookup::Alias(targets) => targets,
        };
        let mut accounts = Vec::new();
        if depth >= MAX_ALIAS_DEPTH {
            tracing::warn!("alias chain longer than {MAX_ALIAS_DEPTH}; treating as a loop");
            return Ok(accounts);
        }
        for target in targets {
            if let Some(next) = self.store.lookup(&AliasSource::Address(target)).await? {
                for id in Box::pin(self.expand(next, depth + 1)).await? {
                    if !accounts.contains(&id) {
                        accounts.push(id);
                    }
                }
            }
        }
        Ok(accounts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use surel_store_sqlite::SqliteStore;

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    async fn store() -> (tempfile::TempDir, SqliteStore, AccountId, AccountId) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .add_domain(&Domain::parse("a.test").unwrap())
            .await
            .unwrap();
        store
            .add_domain(&Domain::parse("b.test").unwrap())
            .await
            .unwrap();
        let bob = store
            .add_account(&addr("bob@a.test"), "unused")
            .await
            .unwrap();
        let carol = store
            .add_account(&addr("carol@a.test"), "unused")
            .await
            .unwrap();
        (dir, store, bob, carol)
    }

    #[tokio::test]
    async fn resolves_accounts_plus_addresses_aliases_and_catch_all() {
        let (_dir, store, bob, carol) = store().await;
        let team = AliasSource::Address(addr("team@a.test"));
        store
            .add_alias(&team, &[addr("bob@a.test"), addr("carol@a.test")])
            .await
            .unwrap();
        let router = Router::new(&store);
        assert_eq!(
            router.resolve(&addr("BOB@a.test")).await.unwrap(),
            Recipient::Local(vec![bob])
        );
        assert_eq!(
            router.resolve(&addr("bob+lists@a.test")).await.unwrap(),
            Recipient::Local(vec![bob])
        );
        assert_eq!(
            router.resolve(&addr("team@a.test")).await.unwrap(),
            Recipient::Local(vec![bob, carol])
        );
        assert_eq!(
            router.resolve(&addr("team+x@a.test")).await.unwrap(),
            Recipient::Local(vec![bob, carol])
        );
        assert_eq!(
            router.resolve(&addr("nobody@a.test")).await.unwrap(),
            Recipient::UnknownUser
        );
        store
            .add_alias(
                &AliasSource::CatchAll(Domain::parse("a.test").unwrap()),
                &[addr("carol@a.test")],
            )
            .await
            .unwrap();
        assert_eq!(
            router.resolve(&addr("nobody@a.test")).await.unwrap(),
            Recipient::Local(vec![carol])
        );
        // An exact account still wins over the catch-all.
        assert_eq!(
            router.resolve(&addr("bob@a.test")).await.unwrap(),
            Recipient::Local(vec![bob])
        );
    }

    #[tokio::test]
    async fn senders_are_the_account_its_plus_addresses_and_aliases_to_it() {
        let (_dir, store, bob, carol) = store().await;
        store
            .add_alias(
                &AliasSource::Address(addr("info@a.test")),
                &[addr("bob@a.test")],
            )
            .await
            .unwrap();
        store
            .add_alias(
                &AliasSource::CatchAll(Domain::parse("a.test").unwrap()),
                &[addr("bob@a.test")],
            )
            .await
            .unwrap();
        let router = Router::new(&store);
        for ok in ["bob@a.test", "Bob+x@a.test", "info@a.test"] {
            assert!(router.may_send_as(bob, &addr(ok)).await.unwrap(), "{ok}");
        }
        for no in ["carol@a.test", "random@a.test", "bob@b.test"] {
            assert!(!router.may_send_as(bob, &addr(no)).await.unwrap(), "{no}");
        }
        assert!(
            !router
                .may_send_as(carol, &addr("info@a.test"))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn foreign_domains_and_literals_are_not_local() {
        let (_dir, store, _, _) = store().await;
        let router = Router::new(&store);
        assert_eq!(
            router.resolve(&addr("bob@c.test")).await.unwrap(),
            Recipient::NotLocal
        );
        assert_eq!(
            router.resolve(&addr("bob@[127.0.0.1]")).await.unwrap(),
            Recipient::NotLocal
        );
        // A subdomain of a local domain is a different domain.
        assert_eq!(
            router.resolve(&addr("bob@x.a.test")).await.unwrap(),
            Recipient::NotLocal
        );
    }

    #[tokio::test]
    async fn postmaster_is_always_accepted_where_the_domain_has_an_account() {
        let (_dir, store, bob, _) = store().await;
        let router = Router::new(&store);
        assert_eq!(
            router.resolve(&addr("Postmaster@a.test")).await.unwrap(),
            Recipient::Local(vec![bob])
        );
        // b.test has no account at all: nobody could read it.
        assert_eq!(
            router.resolve(&addr("postmaster@b.test")).await.unwrap(),
            Recipient::UnknownUser
        );
        // `<Postmaster>` without a domain: our host name if local, else the first local domain.
        assert_eq!(
            router.postmaster("b.test").await.unwrap(),
            Some(addr("postmaster@b.test"))
        );
        assert_eq!(
            router.postmaster("mx.elsewhere").await.unwrap(),
            Some(addr("postmaster@a.test"))
        );
    }
}
