"""The pure core: book, instruments, risk, sequencer, withdrawals."""
