package service

import (
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// translator turns a decoded REST integration into its proto message. It has
// one small method per schema object, in the order of
// openapi/get-integration.yaml. Each takes the path of its object
// ("read.objects[3]") to say where something was wrong.
//
// Bad data (a field item that is neither variant, a bad timestamp) is an
// error; an enum value the schema does not know becomes _UNSPECIFIED and is
// reported to unknownEnum.
type translator struct {
	unknownEnum func(path, value string)
	err         error
}

// InvalidIntegrationError is an integration the upstream sent that cannot be
// translated.
type InvalidIntegrationError struct {
	// Path is where the bad value was, e.g. "latestRevision.content.read.objects[3].requiredFields[1]".
	Path string
	// Reason says what was wrong.
	Reason string
}

func (e *InvalidIntegrationError) Error() string {
	return e.Path + ": " + e.Reason
}

// translateIntegration translates in. unknownEnum may be nil.
func translateIntegration(in *rest.Integration, unknownEnum func(path, value string)) (*ampersandv1.Integration, error) {
	t := &translator{unknownEnum: unknownEnum}
	out := t.integration(in)
	if t.err != nil {
		return nil, t.err
	}
	return out, nil
}

func (t *translator) fail(p *path, format string, args ...any) {
	if t.err == nil {
		t.err = &InvalidIntegrationError{Path: p.String(), Reason: fmt.Sprintf(format, args...)}
	}
}

func (t *translator) integration(in *rest.Integration) *ampersandv1.Integration {
	return &ampersandv1.Integration{
		Id:             in.ID,
		ProjectId:      in.ProjectID,
		Name:           in.Name,
		Provider:       in.Provider,
		CreateTime:     t.timestamp(root.field("createTime"), in.CreateTime),
		UpdateTime:     t.timestamp(root.field("updateTime"), in.UpdateTime),
		LatestRevision: t.revision(root.field("latestRevision"), in.LatestRevision),
	}
}

func (t *translator) revision(p *path, in *rest.Revision) *ampersandv1.Revision {
	if in == nil {
		return nil
	}
	return &ampersandv1.Revision{
		Id:          in.ID,
		SpecVersion: in.SpecVersion,
		CreateTime:  t.timestamp(p.field("createTime"), in.CreateTime),
		Content:     t.content(p.field("content"), in.Content),
	}
}

func (t *translator) content(p *path, in *rest.Content) *ampersandv1.IntegrationContent {
	if in == nil {
		return nil
	}
	return &ampersandv1.IntegrationContent{
		Name:        in.Name,
		Provider:    in.Provider,
		DisplayName: in.DisplayName,
		Module:      in.Module,
		Read:        t.read(p.field("read"), in.Read),
		Write:       t.write(p.field("write"), in.Write),
		Proxy:       t.proxy(in.Proxy),
		Subscribe:   t.subscribe(p.field("subscribe"), in.Subscribe),
		WatchSchema: t.watchSchema(p.field("watchSchema"), in.WatchSchema),
	}
}

func (t *translator) read(p *path, in *rest.ReadIntegration) *ampersandv1.ReadIntegration {
	if in == nil {
		return nil
	}
	out := &ampersandv1.ReadIntegration{Objects: make([]*ampersandv1.IntegrationObject, 0, len(in.Objects))}
	for i, object := range in.Objects {
		out.Objects = append(out.Objects, t.readObject(p.field("objects").at(i), object))
	}
	return out
}

func (t *translator) readObject(p *path, in *rest.IntegrationObject) *ampersandv1.IntegrationObject {
	if in == nil {
		return &ampersandv1.IntegrationObject{}
	}
	return &ampersandv1.IntegrationObject{
		ObjectName:         in.ObjectName,
		Destination:        in.Destination,
		Schedule:           in.Schedule,
		MapToName:          in.MapToName,
		MapToDisplayName:   in.MapToDisplayName,
		RequiredFields:     t.fields(p.field("requiredFields"), in.RequiredFields),
		OptionalFields:     t.fields(p.field("optionalFields"), in.OptionalFields),
		OptionalFieldsAuto: t.optionalFieldsAuto(p.field("optionalFieldsAuto"), in.OptionalFieldsAuto),
		Backfill:           t.backfill(in.Backfill),
		Delivery:           t.delivery(p.field("delivery"), in.Delivery),
		Enabled:            t.enablement(p.field("enabled"), in.Enabled),
	}
}

func (t *translator) fields(p *path, in []*rest.IntegrationField) []*ampersandv1.IntegrationField {
	if in == nil {
		return nil
	}
	out := make([]*ampersandv1.IntegrationField, 0, len(in))
	for i, field := range in {
		out = append(out, t.field(p.at(i), field))
	}
	return out
}

func (t *translator) field(p *path, in *rest.IntegrationField) *ampersandv1.IntegrationField {
	switch {
	case in != nil && in.FieldName != "":
		return &ampersandv1.IntegrationField{Field: &ampersandv1.IntegrationField_Existent{
			Existent: &ampersandv1.IntegrationFieldExistent{
				FieldName:        in.FieldName,
				MapToName:        in.MapToName,
				MapToDisplayName: in.MapToDisplayName,
			},
		}}
	case in != nil && in.MapToName != "":
		return &ampersandv1.IntegrationField{Field: &ampersandv1.IntegrationField_Mapping{
			Mapping: &ampersandv1.IntegrationFieldMapping{
				MapToName:        in.MapToName,
				MapToDisplayName: in.MapToDisplayName,
				Default:          in.Default,
				Prompt:           in.Prompt,
			},
		}}
	default:
		t.fail(p, "field has neither fieldName nor mapToName")
		return nil
	}
}

func (t *translator) optionalFieldsAuto(p *path, in string) ampersandv1.OptionalFieldsAuto {
	switch in {
	case "":
		return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_UNSPECIFIED
	case "all":
		return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_ALL
	}
	t.unknown(p, in)
	return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_UNSPECIFIED
}

func (t *translator) backfill(in *rest.Backfill) *ampersandv1.Backfill {
	if in == nil {
		return nil
	}
	return &ampersandv1.Backfill{DefaultPeriod: t.defaultPeriod(in.DefaultPeriod)}
}

func (t *translator) defaultPeriod(in *rest.DefaultPeriod) *ampersandv1.DefaultPeriod {
	if in == nil {
		return nil
	}
	return &ampersandv1.DefaultPeriod{Days: in.Days, FullHistory: in.FullHistory}
}

func (t *translator) delivery(p *path, in *rest.Delivery) *ampersandv1.Delivery {
	if in == nil {
		return nil
	}
	return &ampersandv1.Delivery{Mode: t.deliveryMode(p.field("mode"), in.Mode), PageSize: in.PageSize}
}

func (t *translator) deliveryMode(p *path, in string) ampersandv1.DeliveryMode {
	switch in {
	case "":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_UNSPECIFIED
	case "onRequest":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_ON_REQUEST
	case "auto":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_AUTO
	}
	t.unknown(p, in)
	return ampersandv1.DeliveryMode_DELIVERY_MODE_UNSPECIFIED
}

func (t *translator) enablement(p *path, in string) ampersandv1.Enablement {
	switch in {
	case "":
		return ampersandv1.Enablement_ENABLEMENT_UNSPECIFIED
	case "always":
		return ampersandv1.Enablement_ENABLEMENT_ALWAYS
	}
	t.unknown(p, in)
	return ampersandv1.Enablement_ENABLEMENT_UNSPECIFIED
}

func (t *translator) write(p *path, in *rest.WriteIntegration) *ampersandv1.WriteIntegration {
	if in == nil {
		return nil
	}
	out := &ampersandv1.WriteIntegration{Objects: make([]*ampersandv1.IntegrationWriteObject, 0, len(in.Objects))}
	for _, object := range in.Objects {
		out.Objects = append(out.Objects, t.writeObject(object))
	}
	return out
}

func (t *translator) writeObject(in *rest.IntegrationWriteObject) *ampersandv1.IntegrationWriteObject {
	if in == nil {
		return &ampersandv1.IntegrationWriteObject{}
	}
	return &ampersandv1.IntegrationWriteObject{
		ObjectName:     in.ObjectName,
		InheritMapping: in.InheritMapping,
		ValueDefaults:  t.valueDefaults(in.ValueDefaults),
	}
}

func (t *translator) valueDefaults(in *rest.ValueDefaults) *ampersandv1.ValueDefaults {
	if in == nil {
		return nil
	}
	return &ampersandv1.ValueDefaults{AllowAnyFields: in.AllowAnyFields}
}

func (t *translator) proxy(in *rest.ProxyIntegration) *ampersandv1.ProxyIntegration {
	if in == nil {
		return nil
	}
	return &ampersandv1.ProxyIntegration{Enabled: in.Enabled, UseModule: in.UseModule}
}

func (t *translator) subscribe(p *path, in *rest.SubscribeIntegration) *ampersandv1.SubscribeIntegration {
	if in == nil {
		return nil
	}
	out := &ampersandv1.SubscribeIntegration{Objects: make([]*ampersandv1.IntegrationSubscribeObject, 0, len(in.Objects))}
	for i, object := range in.Objects {
		out.Objects = append(out.Objects, t.subscribeObject(p.field("objects").at(i), object))
	}
	return out
}

func (t *translator) subscribeObject(p *path, in *rest.IntegrationSubscribeObject) *ampersandv1.IntegrationSubscribeObject {
	if in == nil {
		return &ampersandv1.IntegrationSubscribeObject{}
	}
	return &ampersandv1.IntegrationSubscribeObject{
		ObjectName:              in.ObjectName,
		Destination:             in.Destination,
		InheritFieldsAndMapping: in.InheritFieldsAndMapping,
		CreateEvent:             t.createEvent(p.field("createEvent"), in.CreateEvent),
		UpdateEvent:             t.updateEvent(p.field("updateEvent"), in.UpdateEvent),
		DeleteEvent:             t.deleteEvent(p.field("deleteEvent"), in.DeleteEvent),
		AssociationChangeEvent:  t.associationChangeEvent(p.field("associationChangeEvent"), in.AssociationChangeEvent),
		OtherEvents:             in.OtherEvents,
	}
}

func (t *translator) createEvent(p *path, in *rest.CreateEvent) *ampersandv1.CreateEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.CreateEvent{Enabled: t.enablement(p.field("enabled"), in.Enabled)}
}

func (t *translator) updateEvent(p *path, in *rest.UpdateEvent) *ampersandv1.UpdateEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.UpdateEvent{
		Enabled:             t.enablement(p.field("enabled"), in.Enabled),
		WatchFieldsAuto:     t.watchFieldsAuto(p.field("watchFieldsAuto"), in.WatchFieldsAuto),
		RequiredWatchFields: in.RequiredWatchFields,
	}
}

func (t *translator) watchFieldsAuto(p *path, in string) ampersandv1.WatchFieldsAuto {
	switch in {
	case "":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_UNSPECIFIED
	case "all":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_ALL
	case "selected":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_SELECTED
	}
	t.unknown(p, in)
	return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_UNSPECIFIED
}

func (t *translator) deleteEvent(p *path, in *rest.DeleteEvent) *ampersandv1.DeleteEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.DeleteEvent{Enabled: t.enablement(p.field("enabled"), in.Enabled)}
}

func (t *translator) associationChangeEvent(p *path, in *rest.AssociationChangeEvent) *ampersandv1.AssociationChangeEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.AssociationChangeEvent{
		Enabled:            t.enablement(p.field("enabled"), in.Enabled),
		IncludeFullRecords: in.IncludeFullRecords,
	}
}

func (t *translator) watchSchema(p *path, in *rest.WatchSchema) *ampersandv1.WatchSchema {
	if in == nil {
		return nil
	}
	return &ampersandv1.WatchSchema{
		Destination: in.Destination,
		Schedule:    in.Schedule,
		AllObjects:  t.watchSchemaAllObjects(p.field("allObjects"), in.AllObjects),
	}
}

func (t *translator) watchSchemaAllObjects(p *path, in *rest.WatchSchemaAllObjects) *ampersandv1.WatchSchemaAllObjects {
	if in == nil {
		return nil
	}
	out := &ampersandv1.WatchSchemaAllObjects{}
	if in.FieldCreated != nil {
		out.FieldCreated = &ampersandv1.FieldCreatedEvent{Enabled: t.enablement(p.field("fieldCreated").field("enabled"), in.FieldCreated.Enabled)}
	}
	if in.FieldDeleted != nil {
		out.FieldDeleted = &ampersandv1.FieldDeletedEvent{Enabled: t.enablement(p.field("fieldDeleted").field("enabled"), in.FieldDeleted.Enabled)}
	}
	if in.FieldChanged != nil {
		out.FieldChanged = &ampersandv1.FieldChangedEvent{Enabled: t.enablement(p.field("fieldChanged").field("enabled"), in.FieldChanged.Enabled)}
	}
	return out
}

// timestamp parses an RFC 3339 date-time (any offset, any fraction of a
// second). An empty string is an unset timestamp.
func (t *translator) timestamp(p *path, in string) *timestamppb.Timestamp {
	if in == "" {
		return nil
	}
	ts, err := parseTimestamp(in)
	if err != nil {
		t.fail(p, "invalid date-time %s", strconv.Quote(truncate(in, 64)))
		return nil
	}
	return ts
}

func (t *translator) unknown(p *path, value string) {
	if t.unknownEnum != nil {
		t.unknownEnum(p.String(), value)
	}
}

// parseTimestamp parses an RFC 3339 date-time into a valid Timestamp.
func parseTimestamp(in string) (*timestamppb.Timestamp, error) {
	parsed, err := time.Parse(time.RFC3339Nano, in)
	if err != nil {
		return nil, err
	}
	ts := timestamppb.New(parsed)
	if err := ts.CheckValid(); err != nil {
		return nil, err
	}
	return ts, nil
}

// path is where a value is in the integration, built as the translator
// descends and rendered only when something is reported: a successful
// translation builds no string.
type path struct {
	parent *path
	name   string // a property; "" for an array index
	index  int
}

// root is the path of the integration itself.
var root = &path{}

func (p *path) field(name string) *path { return &path{parent: p, name: name} }

func (p *path) at(i int) *path { return &path{parent: p, index: i} }

// String renders the path: "latestRevision.content.read.objects[3].requiredFields[1]".
// It walks up from p twice, measuring then writing right to left, and stores
// no node anywhere, so that a path never escapes to the heap.
func (p *path) String() string {
	size := 0
	for n := p; n != nil && n.parent != nil; n = n.parent {
		size += n.len()
	}
	b := make([]byte, size)
	end := size
	for n := p; n != nil && n.parent != nil; n = n.parent {
		start := end - n.len()
		if n.name == "" {
			w := b[start:start]
			w = append(w, '[')
			w = strconv.AppendInt(w, int64(n.index), 10)
			_ = append(w, ']')
		} else {
			w := append(b[start:start], '.')
			_ = append(w, n.name...)
		}
		end = start
	}
	if len(b) > 0 && b[0] == '.' {
		b = b[1:]
	}
	return string(b)
}

// len is the length of the node's rendering, a leading '.' included.
func (p *path) len() int {
	if p.name == "" {
		return 2 + len(strconv.Itoa(p.index))
	}
	return 1 + len(p.name)
}

// truncate cuts s to at most n bytes, for quoting upstream values in messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
