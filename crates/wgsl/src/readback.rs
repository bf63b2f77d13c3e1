//! Why a readback is a future, and the small one-shot channel it waits on.
//!
//! Reading a GPU buffer from the host is a request, not a call: the host
//! asks wgpu to map the buffer (`map_async`) and hands it a callback; the
//! callback runs once the GPU has finished every command that writes the
//! buffer. *Who runs the callback* differs:
//!
//! - **Natively** (Vulkan, Metal, DX12, GL) nothing happens until the host
//!   polls the device. `device.poll(Wait)` blocks this thread until the GPU
//!   is done and runs the callbacks inside it: a blocking readback is
//!   "submit, poll, read".
//! - **In a browser** (WebGPU) the callback runs from the page's event
//!   loop, and only after the JavaScript task that asked for the mapping
//!   has returned. A Rust function that waits for it in a loop therefore
//!   waits for ever, and freezes the tab while doing so. `device.poll` does
//!   nothing there: the browser polls by itself.
//!
//! So the one readback that works on both is a future: record the copies,
//! submit, ask for the mappings, then `.await` a value that the callback
//! sets. In the browser, `.await` gives control back to the event loop
//! (`wasm-bindgen-futures` turns the future into a JavaScript promise),
//! which maps the buffer, runs the callback, and wakes the future; natively
//! the poll has already run the callback, so the future is ready at once.
//!
//! [`oneshot`] is that value: a slot behind a mutex, plus the [`Waker`] of
//! the task awaiting it. It is a dozen lines on `std`, so the crate needs no
//! channel dependency for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// What a [`Sender`] and its [`Receiver`] share.
struct Slot<T> {
    /// The value, once sent; `None` in it if the sender was dropped unsent.
    value: Option<Option<T>>,
    /// The task to wake when the value comes.
    waker: Option<Waker>,
}

/// The sending half: moved into the callback, used once.
pub(crate) struct Sender<T>(Arc<Mutex<Slot<T>>>);

/// The receiving half: a future of the value, or of `None` if the sender
/// was dropped without sending (wgpu dropped the callback).
pub(crate) struct Receiver<T>(Arc<Mutex<Slot<T>>>);

/// A new channel for one value.
pub(crate) fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Mutex::new(Slot { value: None, waker: None }));
    (Sender(slot.clone()), Receiver(slot))
}

fn lock<T>(slot: &Mutex<Slot<T>>) -> std::sync::MutexGuard<'_, Slot<T>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Sender<T> {
    /// Sets the value and wakes the task awaiting it, if any.
    pub(crate) fn send(self, value: T) {
        Self::set(&self.0, Some(value));
        // `Drop` then finds the value set and does nothing.
    }

    fn set(slot: &Mutex<Slot<T>>, value: Option<T>) {
        let waker = {
            let mut slot = lock(slot);
            if slot.value.is_some() {
                return;
            }
            slot.value = Some(value);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake(); // outside the lock: the woken task may poll at once
        }
    }
}

impl<T> Drop for Sender<T> {
    /// A sender dropped unsent still completes the future (with `None`), so
    /// a lost callback is an error, never a future that waits for ever.
    fn drop(&mut self) {
        Self::set(&self.0, None);
    }
}

impl<T> Future for Receiver<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = lock(&self.0);
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                // Not yet: be woken when the sender sets it. (Each poll may
                // come from a different task; the latest waker is the one.)
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_sent_before_or_after_the_await_arrives() {
        let (tx, rx) = oneshot();
        tx.send(7);
        assert_eq!(pollster::block_on(rx), Some(7));

        let (tx, rx) = oneshot();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            tx.send("late");
        });
        assert_eq!(pollster::block_on(rx), Some("late")); // woken by the waker
        sender.join().unwrap();
    }

    #[test]
    fn a_sender_dropped_unsent_completes_the_future_with_none() {
        let (tx, rx) = oneshot::<u8>();
        drop(tx);
        assert_eq!(pollster::block_on(rx), None);
    }
}
