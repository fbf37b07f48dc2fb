/* Deferred reclamation of map memory, epoch based.
 *
 * A run of a program is a read-side section (bpfvm_prog_run brackets it),
 * so a map value pointer a program got from bpf_map_lookup_elem stays
 * allocated until the run ends, as under the kernel's rcu_read_lock.
 * Host map operations take a section around their own accesses.
 *
 * The VM holds an epoch E and two reader counters, one for readers that
 * entered in an even epoch and one for odd. A reader increments the counter
 * of the epoch it read and checks the epoch did not move meanwhile (else it
 * retries), so a counted reader of epoch e exists only while the epoch is
 * e or later. The epoch advances from E to E+1 only when no reader of E-1
 * is left, hence the invariant: while the epoch is E, every reader that
 * entered in an epoch <= E-2 has left. Memory unlinked from a structure
 * and then tagged with the epoch r seen after unlinking can only be held by
 * readers of epochs <= r; it is freed once the epoch reaches r+2.
 *
 * Nobody ever waits: writers (a program deleting an element included) only
 * retire, and whoever retires tries to advance the epoch and frees what is
 * old enough. Each map keeps its own retired list, drained when the map is
 * freed (no reader can be left then: programs hold references on maps).
 */
#include "maps/map_internal.h"

uint64_t bpfvm__rcu_read_lock(struct bpfvm_vm *vm)
{
	for (;;) {
		uint64_t e = atomic_load(&vm->rcu_epoch);
		atomic_fetch_add(&vm->rcu_readers[e & 1], 1);
		if (atomic_load(&vm->rcu_epoch) == e)
			return e;
		atomic_fetch_sub(&vm->rcu_readers[e & 1], 1);
	}
}

void bpfvm__rcu_read_unlock(struct bpfvm_vm *vm, uint64_t token)
{
	atomic_fetch_sub(&vm->rcu_readers[token & 1], 1);
}

/* Advance the epoch if no reader of the previous one is left; returns the
 * epoch now. */
static uint64_t try_advance(struct bpfvm_vm *vm)
{
	uint64_t e = atomic_load(&vm->rcu_epoch);
	if (e == 0 || atomic_load(&vm->rcu_readers[(e - 1) & 1]) == 0)
		atomic_compare_exchange_strong(&vm->rcu_epoch, &e, e + 1);
	return atomic_load(&vm->rcu_epoch);
}

static void push_chain(struct bpfvm_rcu_list *list, struct bpfvm_rcu_head *first,
		       struct bpfvm_rcu_head *last)
{
	struct bpfvm_rcu_head *old = atomic_load_explicit(&list->head, memory_order_relaxed);
	do
		last->next = old;
	while (!atomic_compare_exchange_weak_explicit(&list->head, &old, first,
						      memory_order_release, memory_order_relaxed));
}

/* Free what is old enough; one thread at a time per list. */
static void reclaim(struct bpfvm_vm *vm, struct bpfvm_rcu_list *list)
{
	if (atomic_exchange_explicit(&list->reclaiming, 1, memory_order_acquire))
		return;
	uint64_t now = try_advance(vm);
	if (now >= 2) {
		struct bpfvm_rcu_head *h = atomic_exchange_explicit(&list->head, NULL,
								    memory_order_acquire);
		struct bpfvm_rcu_head *keep = NULL, *keep_last = NULL;
		while (h) {
			struct bpfvm_rcu_head *next = h->next;
			if (h->epoch + 2 <= now) {
				h->fn(h, list);
			} else {
				h->next = keep;
				keep = h;
				if (!keep_last)
					keep_last = h;
			}
			h = next;
		}
		if (keep)
			push_chain(list, keep, keep_last);
	}
	atomic_store_explicit(&list->reclaiming, 0, memory_order_release);
}

void bpfvm__rcu_retire(struct bpfvm_vm *vm, struct bpfvm_rcu_list *list,
		       struct bpfvm_rcu_head *head, bpfvm_rcu_fn fn)
{
	atomic_thread_fence(memory_order_seq_cst);
	head->epoch = atomic_load(&vm->rcu_epoch);
	head->fn = fn;
	push_chain(list, head, head);
	reclaim(vm, list);
}

void bpfvm__rcu_drain(struct bpfvm_rcu_list *list)
{
	struct bpfvm_rcu_head *h = atomic_exchange(&list->head, NULL);
	while (h) {
		struct bpfvm_rcu_head *next = h->next;
		h->fn(h, list);
		h = next;
	}
}
