/*
 * Intrusive doubly linked lists, after include/linux/list.h.
 *
 * The kernel threads anon_vma_chain entries on two lists at once (same_vma
 * and the anon_vma's own list); an intrusive list keeps that O(1) without
 * an allocation per link.
 */
#ifndef DUPMM_LIST_H
#define DUPMM_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name)     \
	{                        \
		&(name), &(name) \
	}

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}

static inline void __list_add(struct list_head *n, struct list_head *prev, struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* list_add: insert n right after head (stack order). */
static inline void list_add(struct list_head *n, struct list_head *head)
{
	__list_add(n, head, head->next);
}

/* list_add_tail: insert n right before head (queue order). */
static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	__list_add(n, head->prev, head);
}

static inline void list_del(struct list_head *e)
{
	e->next->prev = e->prev;
	e->prev->next = e->next;
	e->next = e;
	e->prev = e;
}

static inline bool list_empty(const struct list_head *head) { return head->next == head; }

static inline bool list_is_singular(const struct list_head *head)
{
	return !list_empty(head) && head->next == head->prev;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)

#define list_for_each_entry(pos, head, type, member)                               \
	for (pos = list_entry((head)->next, type, member); &pos->member != (head); \
	     pos = list_entry(pos->member.next, type, member))

#define list_for_each_entry_reverse(pos, head, type, member)                       \
	for (pos = list_entry((head)->prev, type, member); &pos->member != (head); \
	     pos = list_entry(pos->member.prev, type, member))

#define list_for_each_entry_safe(pos, n, head, type, member) \
	for (pos = list_entry((head)->next, type, member),   \
	    n = list_entry(pos->member.next, type, member);  \
	     &pos->member != (head); pos = n, n = list_entry(n->member.next, type, member))

#endif
