package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/notify"
)

// SendNotificationArgs are the args of the send_notification job. It sends one email, SMS or push message (notification/send).
type SendNotificationArgs struct {
	// EventID is the id of the event that triggered the job.
	EventID string `json:"event_id"`
}

// Kind is the job kind stored in river_job.kind; never rename it.
func (SendNotificationArgs) Kind() string { return "send_notification" }

// InsertOpts puts the job in the QueueNotifications queue with 10 attempts.
func (SendNotificationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNotifications, MaxAttempts: 10}
}

// SendNotificationWorker works send_notification: one email, SMS or push
// message from a notification/send event. The recipient is To, or else the
// user's email address, phone number or (push) external id.
type SendNotificationWorker struct {
	river.WorkerDefaults[SendNotificationArgs]

	deps *Deps
	tmpl *emailTemplates
}

// Timeout bounds one attempt.
func (w *SendNotificationWorker) Timeout(*river.Job[SendNotificationArgs]) time.Duration {
	return sendTimeout
}

// Work sends the message once.
func (w *SendNotificationWorker) Work(ctx context.Context, job *river.Job[SendNotificationArgs]) error {
	q := db.New(w.deps.DB)
	_, p, err := loadEvent(ctx, q, job.Args.EventID)
	if err != nil {
		return fmt.Errorf("send notification: %w", err)
	}
	n, ok := p.(events.NotificationSend)
	if !ok {
		return river.JobCancel(fmt.Errorf("send notification: event %s is %T, not notification/send", job.Args.EventID, p))
	}
	to := n.To
	if to == "" && n.Channel != notify.ChannelPush {
		user, err := q.UserGet(ctx, n.UserID)
		if err != nil {
			return fmt.Errorf("send notification: %w", notFoundCancels(err, "user "+n.UserID))
		}
		to = user.Email
		if n.Channel == notify.ChannelSMS {
			if user.Phone == nil || *user.Phone == "" {
				return river.JobCancel(fmt.Errorf("send notification: user %s has no phone number", n.UserID))
			}
			to = *user.Phone
		}
	}
	var m message
	switch n.Channel {
	case notify.ChannelEmail:
		subject := n.Subject
		if subject == "" {
			subject = "A message from MohallaMart"
		}
		e, err := w.tmpl.render("notification", map[string]any{"Subject": subject, "Message": n.Message})
		if err != nil {
			return river.JobCancel(fmt.Errorf("send notification: %w", err))
		}
		m = emailMessage(w.deps.Mailer, IdempotencyKey(job.Args.EventID, job.Kind, to), to, e)
	case notify.ChannelSMS:
		m = smsMessage(w.deps.SMS, IdempotencyKey(job.Args.EventID, job.Kind, to), to, n.Message)
	case notify.ChannelPush:
		userID := n.UserID
		if userID == "" {
			userID = to
		}
		m = pushMessage(w.deps.Push, IdempotencyKey(job.Args.EventID, job.Kind, userID), userID, n.Subject, n.Message)
	default:
		return river.JobCancel(fmt.Errorf("send notification: unknown channel %q", n.Channel))
	}
	if err := deliver(ctx, w.deps.DB, job, job.Args.EventID, m); err != nil {
		return fmt.Errorf("send notification: %w", err)
	}
	return nil
}
