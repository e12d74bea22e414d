package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/mohallamart/backend/db"
	"github.com/mohallamart/backend/events"
	"github.com/mohallamart/backend/jobargs"
	"github.com/mohallamart/backend/notify"
)

// notification composes send_notification: one email, SMS or push message
// from a notification/send event. The recipient is To, or else the user's
// email address, phone number or (push) external id; a user whose account
// was deleted gets nothing.
func (d *Deps) notification(ctx context.Context, job *river.Job[jobargs.SendNotificationArgs]) ([]message, error) {
	q := db.New(d.DB)
	n, err := loadPayload[events.NotificationSend](ctx, q, job.Args.EventID)
	if err != nil {
		return nil, err
	}
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
	o := originOf(job, job.Args.EventID)
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
