package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/fn"
	"github.com/mohallamart/backend/notify"
)

// sendNotification sends one email, SMS or push message from a
// notification/send event. The recipient is To, or else the user's email
// address, phone number or (push) external id; a user whose account was
// deleted gets nothing. One recipient gets at most
// Deps.NotificationsPerHour messages an hour (rateLimit; the rest are
// dropped; not the failed-job alerts, source "ops", which are one per kind
// and hour anyway), and each channel's provider at most its
// PROVIDER_RATE_LIMITS (Deps.SendLimits; the rest wait).
func (d *Deps) sendNotification() *fn.Function {
	opts := fn.Options{ID: "send-notification", Queue: QueueNotifications, Timeouts: fn.Timeouts{Attempt: sendTimeout}}
	if d.NotificationsPerHour > 0 {
		opts.RateLimit = &fn.RateLimit{Key: "data.to || data.userId", Limit: d.NotificationsPerHour, Period: time.Hour,
			If: func(ev events.Event) bool { return ev.Source != alertSource }}
	}
	return fn.New(opts, fn.On(events.NameNotificationSend), func(ctx context.Context, in fn.Input[events.NotificationSend]) (any, error) {
		msgs, err := d.notification(ctx, in.Job, in.Event.ID, in.Data)
		if err != nil {
			return nil, err
		}
		return nil, d.send(ctx, in.Job, msgs...)
	})
}

// notification composes the message of notification n.
func (d *Deps) notification(ctx context.Context, job *rivertype.JobRow, eventID string, n events.NotificationSend) ([]message, error) {
	q := db.New(d.DB)
	to := n.To
	if to == "" && n.Channel != notify.ChannelPush {
		user, err := q.UserGet(ctx, n.UserID)
		if err != nil {
			return nil, notFoundCancels(err, "user "+n.UserID)
		}
		to = user.Email
		if n.Channel == notify.ChannelSMS {
			if user.Phone == nil || *user.Phone == "" {
				return nil, river.JobCancel(fmt.Errorf("user %s has no phone number", n.UserID))
			}
			to = *user.Phone
		}
	}
	o := originOf(job, eventID)
	switch n.Channel {
	case notify.ChannelEmail:
		subject := n.Subject
		if subject == "" {
			subject = "A message from MohallaMart"
		}
		e, err := d.render("notification", map[string]any{"Subject": subject, "Message": n.Message})
		if err != nil {
			return nil, err
		}
		return []message{d.email(o, to, e)}, nil
	case notify.ChannelSMS:
		return []message{d.sms(o, to, n.Message)}, nil
	case notify.ChannelPush:
		userID := n.UserID
		if userID == "" {
			userID = to
		}
		if err := cancelIfDeleted(ctx, q, userID); err != nil {
			return nil, err
		}
		return []message{d.push(o, userID, userID, n.Subject, n.Message)}, nil
	}
	return nil, river.JobCancel(fmt.Errorf("unknown channel %q", n.Channel))
}
