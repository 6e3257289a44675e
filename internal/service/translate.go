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

func (t *translator) fail(path, format string, args ...any) {
	if t.err == nil {
		t.err = &InvalidIntegrationError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
}

func (t *translator) integration(in *rest.Integration) *ampersandv1.Integration {
	return &ampersandv1.Integration{
		Id:             in.ID,
		ProjectId:      in.ProjectID,
		Name:           in.Name,
		Provider:       in.Provider,
		CreateTime:     t.timestamp("createTime", in.CreateTime),
		UpdateTime:     t.timestamp("updateTime", in.UpdateTime),
		LatestRevision: t.revision("latestRevision", in.LatestRevision),
	}
}

func (t *translator) revision(path string, in *rest.Revision) *ampersandv1.Revision {
	if in == nil {
		return nil
	}
	return &ampersandv1.Revision{
		Id:          in.ID,
		SpecVersion: in.SpecVersion,
		CreateTime:  t.timestamp(path+".createTime", in.CreateTime),
		Content:     t.content(path+".content", in.Content),
	}
}

func (t *translator) content(path string, in *rest.Content) *ampersandv1.IntegrationContent {
	if in == nil {
		return nil
	}
	return &ampersandv1.IntegrationContent{
		Name:        in.Name,
		Provider:    in.Provider,
		DisplayName: in.DisplayName,
		Module:      in.Module,
		Read:        t.read(path+".read", in.Read),
		Write:       t.write(path+".write", in.Write),
		Proxy:       t.proxy(in.Proxy),
		Subscribe:   t.subscribe(path+".subscribe", in.Subscribe),
		WatchSchema: t.watchSchema(path+".watchSchema", in.WatchSchema),
	}
}

func (t *translator) read(path string, in *rest.ReadIntegration) *ampersandv1.ReadIntegration {
	if in == nil {
		return nil
	}
	out := &ampersandv1.ReadIntegration{Objects: make([]*ampersandv1.IntegrationObject, 0, len(in.Objects))}
	for i, object := range in.Objects {
		out.Objects = append(out.Objects, t.readObject(index(path+".objects", i), object))
	}
	return out
}

func (t *translator) readObject(path string, in *rest.IntegrationObject) *ampersandv1.IntegrationObject {
	if in == nil {
		return &ampersandv1.IntegrationObject{}
	}
	return &ampersandv1.IntegrationObject{
		ObjectName:         in.ObjectName,
		Destination:        in.Destination,
		Schedule:           in.Schedule,
		MapToName:          in.MapToName,
		MapToDisplayName:   in.MapToDisplayName,
		RequiredFields:     t.fields(path+".requiredFields", in.RequiredFields),
		OptionalFields:     t.fields(path+".optionalFields", in.OptionalFields),
		OptionalFieldsAuto: t.optionalFieldsAuto(path+".optionalFieldsAuto", in.OptionalFieldsAuto),
		Backfill:           t.backfill(in.Backfill),
		Delivery:           t.delivery(path+".delivery", in.Delivery),
		Enabled:            t.enablement(path+".enabled", in.Enabled),
	}
}

func (t *translator) fields(path string, in []*rest.IntegrationField) []*ampersandv1.IntegrationField {
	if in == nil {
		return nil
	}
	out := make([]*ampersandv1.IntegrationField, 0, len(in))
	for i, field := range in {
		out = append(out, t.field(index(path, i), field))
	}
	return out
}

func (t *translator) field(path string, in *rest.IntegrationField) *ampersandv1.IntegrationField {
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
		t.fail(path, "field has neither fieldName nor mapToName")
		return nil
	}
}

func (t *translator) optionalFieldsAuto(path, in string) ampersandv1.OptionalFieldsAuto {
	switch in {
	case "":
		return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_UNSPECIFIED
	case "all":
		return ampersandv1.OptionalFieldsAuto_OPTIONAL_FIELDS_AUTO_ALL
	}
	t.unknown(path, in)
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

func (t *translator) delivery(path string, in *rest.Delivery) *ampersandv1.Delivery {
	if in == nil {
		return nil
	}
	return &ampersandv1.Delivery{Mode: t.deliveryMode(path+".mode", in.Mode), PageSize: in.PageSize}
}

func (t *translator) deliveryMode(path, in string) ampersandv1.DeliveryMode {
	switch in {
	case "":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_UNSPECIFIED
	case "onRequest":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_ON_REQUEST
	case "auto":
		return ampersandv1.DeliveryMode_DELIVERY_MODE_AUTO
	}
	t.unknown(path, in)
	return ampersandv1.DeliveryMode_DELIVERY_MODE_UNSPECIFIED
}

func (t *translator) enablement(path, in string) ampersandv1.Enablement {
	switch in {
	case "":
		return ampersandv1.Enablement_ENABLEMENT_UNSPECIFIED
	case "always":
		return ampersandv1.Enablement_ENABLEMENT_ALWAYS
	}
	t.unknown(path, in)
	return ampersandv1.Enablement_ENABLEMENT_UNSPECIFIED
}

func (t *translator) write(path string, in *rest.WriteIntegration) *ampersandv1.WriteIntegration {
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

func (t *translator) subscribe(path string, in *rest.SubscribeIntegration) *ampersandv1.SubscribeIntegration {
	if in == nil {
		return nil
	}
	out := &ampersandv1.SubscribeIntegration{Objects: make([]*ampersandv1.IntegrationSubscribeObject, 0, len(in.Objects))}
	for i, object := range in.Objects {
		out.Objects = append(out.Objects, t.subscribeObject(index(path+".objects", i), object))
	}
	return out
}

func (t *translator) subscribeObject(path string, in *rest.IntegrationSubscribeObject) *ampersandv1.IntegrationSubscribeObject {
	if in == nil {
		return &ampersandv1.IntegrationSubscribeObject{}
	}
	return &ampersandv1.IntegrationSubscribeObject{
		ObjectName:              in.ObjectName,
		Destination:             in.Destination,
		InheritFieldsAndMapping: in.InheritFieldsAndMapping,
		CreateEvent:             t.createEvent(path+".createEvent", in.CreateEvent),
		UpdateEvent:             t.updateEvent(path+".updateEvent", in.UpdateEvent),
		DeleteEvent:             t.deleteEvent(path+".deleteEvent", in.DeleteEvent),
		AssociationChangeEvent:  t.associationChangeEvent(path+".associationChangeEvent", in.AssociationChangeEvent),
		OtherEvents:             in.OtherEvents,
	}
}

func (t *translator) createEvent(path string, in *rest.CreateEvent) *ampersandv1.CreateEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.CreateEvent{Enabled: t.enablement(path+".enabled", in.Enabled)}
}

func (t *translator) updateEvent(path string, in *rest.UpdateEvent) *ampersandv1.UpdateEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.UpdateEvent{
		Enabled:             t.enablement(path+".enabled", in.Enabled),
		WatchFieldsAuto:     t.watchFieldsAuto(path+".watchFieldsAuto", in.WatchFieldsAuto),
		RequiredWatchFields: in.RequiredWatchFields,
	}
}

func (t *translator) watchFieldsAuto(path, in string) ampersandv1.WatchFieldsAuto {
	switch in {
	case "":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_UNSPECIFIED
	case "all":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_ALL
	case "selected":
		return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_SELECTED
	}
	t.unknown(path, in)
	return ampersandv1.WatchFieldsAuto_WATCH_FIELDS_AUTO_UNSPECIFIED
}

func (t *translator) deleteEvent(path string, in *rest.DeleteEvent) *ampersandv1.DeleteEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.DeleteEvent{Enabled: t.enablement(path+".enabled", in.Enabled)}
}

func (t *translator) associationChangeEvent(path string, in *rest.AssociationChangeEvent) *ampersandv1.AssociationChangeEvent {
	if in == nil {
		return nil
	}
	return &ampersandv1.AssociationChangeEvent{
		Enabled:            t.enablement(path+".enabled", in.Enabled),
		IncludeFullRecords: in.IncludeFullRecords,
	}
}

func (t *translator) watchSchema(path string, in *rest.WatchSchema) *ampersandv1.WatchSchema {
	if in == nil {
		return nil
	}
	return &ampersandv1.WatchSchema{
		Destination: in.Destination,
		Schedule:    in.Schedule,
		AllObjects:  t.watchSchemaAllObjects(path+".allObjects", in.AllObjects),
	}
}

func (t *translator) watchSchemaAllObjects(path string, in *rest.WatchSchemaAllObjects) *ampersandv1.WatchSchemaAllObjects {
	if in == nil {
		return nil
	}
	out := &ampersandv1.WatchSchemaAllObjects{}
	if in.FieldCreated != nil {
		out.FieldCreated = &ampersandv1.FieldCreatedEvent{Enabled: t.enablement(path+".fieldCreated.enabled", in.FieldCreated.Enabled)}
	}
	if in.FieldDeleted != nil {
		out.FieldDeleted = &ampersandv1.FieldDeletedEvent{Enabled: t.enablement(path+".fieldDeleted.enabled", in.FieldDeleted.Enabled)}
	}
	if in.FieldChanged != nil {
		out.FieldChanged = &ampersandv1.FieldChangedEvent{Enabled: t.enablement(path+".fieldChanged.enabled", in.FieldChanged.Enabled)}
	}
	return out
}

// timestamp parses an RFC 3339 date-time (any offset, any fraction of a
// second). An empty string is an unset timestamp.
func (t *translator) timestamp(path, in string) *timestamppb.Timestamp {
	if in == "" {
		return nil
	}
	ts, err := parseTimestamp(in)
	if err != nil {
		t.fail(path, "invalid date-time %s", strconv.Quote(truncate(in, 64)))
		return nil
	}
	return ts
}

func (t *translator) unknown(path, value string) {
	if t.unknownEnum != nil {
		t.unknownEnum(path, value)
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

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// truncate cuts s to at most n bytes, for quoting upstream values in messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
