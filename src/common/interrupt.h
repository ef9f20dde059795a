#pragma once
// SIGINT/SIGTERM during a long job: the first signal is recorded so that the job stops
// at its next check, removes its temporary output and exits with 128 + the signal's
// number (130 for SIGINT, 143 for SIGTERM, as shells report them); a second signal
// takes its default action at once (the next run removes the temporary folder it leaves).
namespace docquant {

// Installs the handlers (idempotent).
void install_interrupt_handlers();

// The first signal received since install_interrupt_handlers(), or 0.
int interrupt_signal() noexcept;

// 128 + interrupt_signal() when a signal was received, else 130 (interrupted without a
// recorded signal: the generic code).
int interrupt_exit_code() noexcept;

}  // namespace docquant
