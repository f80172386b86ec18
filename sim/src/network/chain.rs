//! The simulated chain: a mempool that accepts a transaction only if it spends outputs
//! the chain has and no other waiting transaction spends, blocks that mine everything
//! waiting, and the unspent outputs with their values, so that no mined transaction can
//! create value. The wallet's funding transactions spend coins outside this chain: each
//! is mined in the next block without its inputs being checked, and its outputs join
//! the unspent ones.

use std::collections::{BTreeMap, BTreeSet};

use lightning::bitcoin::{OutPoint, Transaction, Txid};

use crate::node::START_HEIGHT;

/// The chain and its mempool.
#[derive(Debug)]
pub(super) struct Chain {
    /// The latest block's height.
    pub height: u32,
    /// Funding transactions waiting for the next block.
    fundings: Vec<Transaction>,
    /// Transactions waiting for the next block.
    mempool: Vec<Transaction>,
    /// Outputs spent by a waiting transaction.
    spent_in_mempool: BTreeSet<OutPoint>,
    /// Unspent outputs and their values in satoshis.
    utxos: BTreeMap<OutPoint, u64>,
    /// Every transaction (funding ones too) mined, with its height and its index in its
    /// block: a restarted node
    /// syncs the blocks it missed from this, as a wallet's chain source would.
    pub mined: Vec<(Transaction, u32, u32)>,
    /// The txids of `mined`.
    mined_txids: BTreeSet<Txid>,
}

impl Chain {
    pub fn new() -> Self {
        Chain {
            height: START_HEIGHT,
            fundings: Vec::new(),
            mempool: Vec::new(),
            spent_in_mempool: BTreeSet::new(),
            utxos: BTreeMap::new(),
            mined: Vec::new(),
            mined_txids: BTreeSet::new(),
        }
    }

    /// The value in satoshis of an unspent output the chain has.
    pub fn unspent_value(&self, outpoint: &OutPoint) -> Option<u64> {
        self.utxos.get(outpoint).copied()
    }

    /// The wallet's funding transaction, mined in the next block.
    pub fn add_funding(&mut self, tx: Transaction) {
        self.fundings.push(tx);
    }

    /// Offers `tx` to the mempool: accepted if every input is unspent and not spent by a
    /// waiting transaction, and it creates no value.
    pub fn submit(&mut self, tx: &Transaction) -> Result<Txid, String> {
        let txid = tx.compute_txid();
        if self.mempool.iter().any(|t| t.compute_txid() == txid) || self.mined_txids.contains(&txid) {
            return Err("already known".into());
        }
        let mut input_satoshis = 0u64;
        for input in &tx.input {
            let Some(value) = self.utxos.get(&input.previous_output) else {
                return Err(format!(
                    "spends {} which the chain does not have",
                    input.previous_output
                ));
            };
            if self.spent_in_mempool.contains(&input.previous_output) {
                return Err(format!("conflicts with a waiting spend of {}", input.previous_output));
            }
            input_satoshis += value;
        }
        let output_satoshis: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        if output_satoshis > input_satoshis {
            return Err(format!(
                "creates value: {output_satoshis} sat out of {input_satoshis} sat in"
            ));
        }
        self.spent_in_mempool
            .extend(tx.input.iter().map(|input| input.previous_output));
        self.mempool.push(tx.clone());
        Ok(txid)
    }

    /// Whether anything waits for a block.
    pub fn has_waiting(&self) -> bool {
        !self.mempool.is_empty() || !self.fundings.is_empty()
    }

    /// Mines a block with everything waiting; returns its height and the transactions
    /// mined.
    pub fn mine(&mut self) -> (u32, Vec<Transaction>) {
        self.height += 1;
        let fundings = std::mem::take(&mut self.fundings);
        let spends = std::mem::take(&mut self.mempool);
        for tx in &spends {
            for input in &tx.input {
                self.utxos.remove(&input.previous_output);
            }
        }
        let block: Vec<Transaction> = fundings.into_iter().chain(spends).collect();
        for tx in &block {
            let txid = tx.compute_txid();
            self.mined_txids.insert(txid);
            for (vout, output) in tx.output.iter().enumerate() {
                self.utxos.insert(
                    OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                    output.value.to_sat(),
                );
            }
        }
        self.spent_in_mempool.clear();
        // Index 0 of a block is its coinbase: the transactions follow from 1.
        self.mined.extend(
            block
                .iter()
                .enumerate()
                .map(|(index, tx)| (tx.clone(), self.height, index as u32 + 1)),
        );
        (self.height, block)
    }

    /// The value of every unspent output.
    #[cfg(test)]
    pub fn utxo_satoshis(&self) -> u64 {
        self.utxos.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::{funding_outpoint, funding_transaction};
    use lightning::bitcoin::{absolute, transaction, Amount, ScriptBuf, Sequence, TxIn, TxOut, Witness};

    fn spend(outpoint: OutPoint, values: &[u64]) -> Transaction {
        Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: values
                .iter()
                .map(|v| TxOut {
                    value: Amount::from_sat(*v),
                    script_pubkey: ScriptBuf::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_chain_accepts_spends_of_what_it_has_and_never_creates_value() {
        let mut chain = Chain::new();
        let funding_tx = funding_transaction([7; 32], 1_000, ScriptBuf::new());
        let funding = funding_outpoint(&funding_tx);
        assert!(chain.submit(&spend(funding, &[10])).is_err(), "not mined yet");
        chain.add_funding(funding_tx.clone());
        let (height, mined) = chain.mine();
        assert_eq!((height, mined.len()), (START_HEIGHT + 1, 1));
        assert!(chain
            .submit(&spend(funding, &[600, 401]))
            .unwrap_err()
            .contains("creates value"));
        let close = spend(funding, &[600, 300]);
        let txid = chain.submit(&close).expect("valid");
        assert!(chain.submit(&spend(funding, &[900])).unwrap_err().contains("conflicts"));
        assert!(chain.submit(&close).is_err(), "already known");
        chain.mine();
        assert_eq!(chain.utxo_satoshis(), 900);
        assert!(chain.mined.iter().any(|(t, _, _)| t.compute_txid() == txid));
        assert_eq!(
            chain.mined[0],
            (funding_tx, START_HEIGHT + 1, 1),
            "the first after the coinbase"
        );
        assert!(!chain.has_waiting());
    }
}
