package service

import (
	ampersandv1 "github.com/ampersand-connect/gateway/gen/ampersand/v1"
	"github.com/ampersand-connect/gateway/internal/rest"
)

// The two-step path, the reference the one-pass decoder is held to
// (FuzzDecodeMatchesTwoSteps): rest.DecodeIntegration decodes into the
// schema's Go types, then these functions translate them, one per schema
// object, in the order of the schema.

// translateIntegration translates in. unknownEnum may be nil.
func translateIntegration(in *rest.Integration, unknownEnum func(path, value string)) (*ampersandv1.Integration, error) {
	t := &translator{unknownEnum: unknownEnum}
	out := t.integration(in)
	if t.err != nil {
		return nil, t.err
	}
	return out, nil
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
